import { generate } from 'otplib';
import { Transactions } from '../../src/database/database';
import { RecoveryCodes } from '../../src/mfa/recovery-codes/recovery-codes';
import { TOTP_PERIOD_SECONDS } from '../../src/mfa/totp/totp-codes';
import { TotpFactors } from '../../src/mfa/totp/totp-factors';
import type { TestApp } from './test-app';

/** The code an authenticator app shows at the test clock's time, `steps` periods away. */
export function totpCode(t: TestApp, secret: string, steps = 0): Promise<string> {
  return generate({ secret, epoch: t.clock.nowSeconds() + steps * TOTP_PERIOD_SECONDS });
}

/**
 * Gives a user an active TOTP factor and recovery codes directly through the services (not
 * through the API under test), as `createUser` makes accounts. The clock moves one step on, so
 * the confirming code does not block a test's first code.
 */
export async function enrolTotp(
  t: TestApp,
  user: { id: string; email: string },
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const factors = t.app.get(TotpFactors);
  const { secret, recoveryCodes } = await t.app.get(Transactions).run(async (tx) => {
    const enrolment = await factors.begin(tx, user);
    const code = await generate({ secret: enrolment.secret, epoch: t.clock.nowSeconds() });
    if (!(await factors.confirm(tx, user.id, code))) throw new Error('enrolTotp: code refused');
    return {
      secret: enrolment.secret,
      recoveryCodes: await t.app.get(RecoveryCodes).regenerate(tx, user.id),
    };
  });
  t.clock.advance(TOTP_PERIOD_SECONDS);
  return { secret, recoveryCodes };
}
