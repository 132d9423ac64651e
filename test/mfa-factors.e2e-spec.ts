import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Transactions } from '../src/database/database';
import { MfaChallenges } from '../src/mfa/challenges/mfa-challenges';
import { RecoveryCodes } from '../src/mfa/recovery-codes/recovery-codes';
import { TotpFactor } from '../src/mfa/entities/totp-factor.entity';
import { SecondFactors } from '../src/mfa/second-factors';
import { TotpFactors } from '../src/mfa/totp/totp-factors';
import { createUser } from './helpers/factories';
import { enrolTotp, totpCode } from './helpers/mfa';
import { createTestApp, type TestApp } from './helpers/test-app';

// The stores under the second-factor routes, on the real database: what must hold when
// requests race (a code or a challenge spent once) and what is kept at rest.
describe('second-factor stores (SPEC §9)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('keeps the TOTP secret only encrypted, and accepts a code once even from 20 parallel checks', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const row = await t.dataSource
      .getRepository(TotpFactor)
      .findOneByOrFail({ userId: user.user.id });
    assert.ok(!row.secretCiphertext.includes(secret));
    const code = await totpCode(t, secret);
    const factors = t.app.get(TotpFactors);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => factors.check(user.user.id, code)),
    );
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await factors.check(user.user.id, code), false);
  });

  it('takes a recovery code once from 20 parallel requests, and counts what is left', async () => {
    const user = await createUser(t);
    const { recoveryCodes } = await enrolTotp(t, user.user);
    const codes = t.app.get(RecoveryCodes);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => codes.consume(user.user.id, recoveryCodes[0])),
    );
    assert.equal(results.filter(Boolean).length, 1);
    const status = await t.app.get(SecondFactors).statusOf(user.user.id);
    assert.deepEqual(status, {
      methods: ['totp'],
      totpPending: false,
      passkeys: 0,
      recoveryCodesRemaining: 9,
    });
  });

  it('reports a pending enrolment as no method, and refuses a second enrolment once active', async () => {
    const user = await createUser(t);
    const transactions = t.app.get(Transactions);
    const factors = t.app.get(TotpFactors);
    await transactions.run((tx) => factors.begin(tx, user.user));
    const pending = await t.app.get(SecondFactors).statusOf(user.user.id);
    assert.deepEqual([pending.methods, pending.totpPending], [[], true]);
    const again = await transactions.run((tx) => factors.begin(tx, user.user));
    assert.equal(await factors.check(user.user.id, await totpCode(t, again.secret)), false);
    assert.equal(
      await transactions.run(async (tx) =>
        factors.confirm(tx, user.user.id, await totpCode(t, again.secret)),
      ),
      true,
    );
    await assert.rejects(
      transactions.run((tx) => factors.begin(tx, user.user)),
      { code: 'mfa_already_enrolled' },
    );
  });

  it('spends an mfa_token once, expires it, and kills it after the allowed wrong answers', async () => {
    const user = await createUser(t);
    const challenges = t.app.get(MfaChallenges);
    const first = await challenges.issueToken(user.user.id, ['pwd']);
    const found = await challenges.findByToken(first.token);
    assert.deepEqual([found?.userId, found?.amr], [user.user.id, ['pwd']]);
    const spent = await Promise.all(
      Array.from({ length: 10 }, () => challenges.spend(first.challengeId)),
    );
    assert.equal(spent.filter(Boolean).length, 1);
    assert.equal(await challenges.findByToken(first.token), null);

    const second = await challenges.issueToken(user.user.id, ['pwd']);
    const attemptsLeft: boolean[] = [];
    for (let i = 0; i < t.config.mfa.tokenMaxAttempts; i += 1) {
      const attempt = await challenges.reserveAttempt(second.challengeId);
      assert.equal(attempt, i + 1);
      attemptsLeft.push(await challenges.fail(second.challengeId, attempt ?? 0));
    }
    assert.deepEqual(attemptsLeft.slice(-2), [true, false]);
    assert.equal(await challenges.findByToken(second.token), null);
    assert.equal(await challenges.reserveAttempt(second.challengeId), null);

    const third = await challenges.issueToken(user.user.id, ['pwd']);
    t.clock.advance(t.config.mfa.tokenTtlSeconds + 1);
    assert.equal(await challenges.findByToken(third.token), null);
    assert.equal(await challenges.spend(third.challengeId), false);
  });

  it('spends a WebAuthn challenge once, only for its purpose', async () => {
    const user = await createUser(t);
    const challenges = t.app.get(MfaChallenges);
    await challenges.issueWebauthn('passkey_registration', user.user.id, 'challenge-abc');
    assert.equal(await challenges.spendWebauthn('passkey_login', 'challenge-abc'), null);
    const spent = await challenges.spendWebauthn('passkey_registration', 'challenge-abc');
    assert.equal(spent?.userId, user.user.id);
    assert.equal(await challenges.spendWebauthn('passkey_registration', 'challenge-abc'), null);
  });
});
