import { cliContext } from './cli-context';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AuditService } from '../audit/audit.service';
import { RegisterDto } from '../auth/dto/register.dto';
import { DomainError } from '../common/errors/domain-error';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { configFromEnvironment } from '../config/app-config';
import { RoleName } from '../access/role-name';
import { UsersService } from '../users/users.service';
import { CliError } from './cli-error';
import { CliModule } from './cli.module';
import { readAdminPassword } from './password-prompt';

const ADMIN_ROLES = [RoleName.User, RoleName.Moderator, RoleName.Admin];

/** Creates an account holding every role; refuses, changing nothing, if the name or email is taken. */
export async function createAdmin({
  username,
  email,
}: {
  username: string;
  email: string;
}): Promise<void> {
  // Report bad configuration before asking anyone to type a password.
  configFromEnvironment();
  // Check the names first so a typo in the email does not cost typing the password twice.
  await validAccount({ username, email, password: undefined }, (field) => field !== 'password');
  const account = await validAccount({ username, email, password: await readAdminPassword() });

  const app = await cliContext(CliModule, { writes: true });
  try {
    const audit = app.get(AuditService);
    const { user, roles } = await app.get(UsersService).createAccount(account, ADMIN_ROLES, {
      // In the account's transaction: no admin without its event, no event without the admin.
      audit: (tx, created) =>
        audit.record(
          tx,
          {
            type: 'admin.created',
            actorId: null,
            subjectUserId: created.user.id,
            details: { via: 'cli', roles: created.roles },
          },
          NO_REQUEST_CONTEXT,
        ),
    });
    console.log(`Created admin ${user.username} (${user.id}) with ${roles.join(', ')}`);
  } catch (error) {
    throw explain(error, account);
  } finally {
    await app.close();
  }
}

/** The registration rules, applied exactly as the HTTP ValidationPipe applies them to RegisterDto. */
async function validAccount(
  input: { username: string; email: string; password: string | undefined },
  checked: (field: string) => boolean = () => true,
): Promise<RegisterDto> {
  const account = plainToInstance(RegisterDto, input);
  const errors = await validate(account, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  const messages = errors
    .filter((error) => checked(error.property))
    .flatMap((error) => Object.values(error.constraints ?? {}));
  if (messages.length > 0) {
    throw new CliError(
      [
        'Error: the account is invalid; nothing was changed',
        ...messages.map((message) => `  - ${message}`),
      ].join('\n'),
      1,
    );
  }
  return account;
}

function explain(error: unknown, account: RegisterDto): unknown {
  if (!(error instanceof DomainError)) return error;
  if (error.code === 'username_taken') {
    return new CliError(
      `Error: username "${account.username}" is already taken; nothing was changed`,
      1,
    );
  }
  if (error.code === 'email_taken') {
    return new CliError(
      `Error: email "${account.email}" is already registered; nothing was changed`,
      1,
    );
  }
  const details = (error.errors ?? []).map((fieldError) => `\n  - ${fieldError.message}`).join('');
  return new CliError(`Error: ${error.message}; nothing was changed${details}`, 1);
}
