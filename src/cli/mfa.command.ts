import { DomainError } from '../common/errors/domain-error';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { MfaRekeyService } from '../mfa/mfa-rekey.service';
import { MfaResetService } from '../mfa/mfa-reset.service';
import { UsersService } from '../users/users.service';
import { cliContext } from './cli-context';
import { CliError } from './cli-error';
import { MfaCliModule } from './mfa-cli.module';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Resets a user's second factors, as DELETE /users/:id/mfa does: TOTP, passkeys and recovery
 * codes deleted, every session ended, audited (no actor), the user told by mail.
 */
export async function mfaReset({ user }: { user: string }): Promise<void> {
  const app = await cliContext(MfaCliModule, { writes: true });
  try {
    const users = app.get(UsersService);
    const account = UUID.test(user)
      ? await users.findWithRoles(user.toLowerCase())
      : ((await users.findLoginAccount(user))?.account ?? null);
    if (account === null) throw new CliError(`Error: no user "${user}"; nothing was changed`, 1);
    const { id, username, email } = account.user;
    let outcome;
    try {
      outcome = await app.get(MfaResetService).reset(null, id, NO_REQUEST_CONTEXT);
    } catch (error) {
      if (error instanceof DomainError) {
        throw new CliError(`Error: ${error.message}; nothing was changed`, 1);
      }
      throw error;
    }
    console.log(
      `Reset the second factors of ${username} <${email}>: ` +
        `${outcome.totpRemoved ? 'authenticator removed' : 'no authenticator'}, ` +
        `${outcome.passkeysRemoved} passkey(s), ${outcome.recoveryCodesRemoved} recovery code(s) ` +
        `deleted, ${outcome.sessionsRevoked} session(s) ended`,
    );
  } finally {
    await app.close();
  }
}

/**
 * Seals every TOTP secret again under the current MFA_ENCRYPTION_KEY (key rotation). Exits 1
 * when a secret is under a key that is not configured: it stays as it is.
 */
export async function mfaRekey(): Promise<void> {
  const app = await cliContext(MfaCliModule, { writes: true });
  try {
    let outcome;
    try {
      outcome = await app.get(MfaRekeyService).rekeyAll();
    } catch (error) {
      if (error instanceof DomainError) {
        throw new CliError(`Error: ${error.message}; nothing was changed`, 1);
      }
      throw error;
    }
    console.log(
      `Re-sealed ${outcome.rekeyed} TOTP secret(s) under the current MFA_ENCRYPTION_KEY ` +
        `(${outcome.current} already under it, ${outcome.changed} changed meanwhile)`,
    );
    if (outcome.unreadable.length > 0) {
      throw new CliError(
        `Error: ${outcome.unreadable.length} secret(s) are under a key that is neither ` +
          'MFA_ENCRYPTION_KEY nor in MFA_PREVIOUS_ENCRYPTION_KEYS; they were left as they are ' +
          `(users ${outcome.unreadable.join(', ')}). Keep the old key until they are re-sealed.`,
        1,
      );
    }
  } finally {
    await app.close();
  }
}
