import { PasswordResetService } from '../account-lifecycle/password-reset.service';
import { DomainError } from '../common/errors/domain-error';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { UsersService } from '../users/users.service';
import { cliContext } from './cli-context';
import { CliError } from './cli-error';
import { MailCliModule } from './mail-cli.module';

/**
 * Queues a password reset mail for a user, as POST /users/:id/password-reset does (audited, no
 * actor). The CLI only queues: a running server's outbox worker delivers it.
 */
export async function passwordReset({ user }: { user: string }): Promise<void> {
  const app = await cliContext(MailCliModule, { writes: true });
  try {
    const found = await app.get(UsersService).findLoginAccount(user);
    if (found === null) throw new CliError(`Error: no user "${user}"; nothing was sent`, 1);
    const { id, username, email } = found.account.user;
    try {
      await app.get(PasswordResetService).sendFor(null, id, NO_REQUEST_CONTEXT);
    } catch (error) {
      if (error instanceof DomainError) {
        throw new CliError(`Error: ${error.message}; nothing was sent`, 1);
      }
      throw error;
    }
    console.log(
      `Queued a password reset mail to ${username} <${email}>; a running server delivers it`,
    );
  } finally {
    await app.close();
  }
}
