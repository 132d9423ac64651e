import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { UserManagementService } from '../users/user-management.service';
import { UsersService } from '../users/users.service';
import { cliContext } from './cli-context';
import { CliError } from './cli-error';
import { CliModule } from './cli.module';

/** Marks a user's email verified or not, as PATCH /users/:id {emailVerified} does (audited). */
export async function emailVerified({
  user,
  verified,
}: {
  user: string;
  verified: boolean;
}): Promise<void> {
  const app = await cliContext(CliModule, { writes: true });
  try {
    const found = await app.get(UsersService).findLoginAccount(user);
    if (found === null) throw new CliError(`Error: no user "${user}"; nothing was changed`, 1);
    const { id } = found.account.user;
    const updated = await app
      .get(UserManagementService)
      .update(null, id, { emailVerified: verified }, NO_REQUEST_CONTEXT);
    console.log(
      `${updated.user.username} <${updated.user.email}>: email ${verified ? 'verified' : 'not verified'}`,
    );
  } finally {
    await app.close();
  }
}
