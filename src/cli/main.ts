import '../config/dotenv';
import { ConfigurationError } from '../config/environment';
import { parseCliArgs, USAGE } from './cli-args';
import { CliError, UsageError } from './cli-error';

async function main(argv: string[]): Promise<void> {
  const command = parseCliArgs(argv);
  switch (command.name) {
    case 'help':
      process.stdout.write(USAGE);
      return;
    case 'create-admin': {
      // Loaded only here so help and usage errors do not wait for Nest and TypeORM to load.
      const { createAdmin } = await import('./create-admin.command');
      await createAdmin(command);
      return;
    }
    case 'audit:verify': {
      const { auditVerify } = await import('./audit-verify.command');
      await auditVerify(command.head);
      return;
    }
    case 'audit:head': {
      const { auditHead } = await import('./audit-verify.command');
      await auditHead();
      return;
    }
    case 'import-users': {
      const { importUsers } = await import('./import-users.command');
      await importUsers(command);
      return;
    }
    case 'migrate': {
      const { migrate } = await import('./migrate.command');
      await migrate();
      return;
    }
    case 'email-verified': {
      const { emailVerified } = await import('./email-verified.command');
      await emailVerified(command);
      return;
    }
    case 'password-reset': {
      const { passwordReset } = await import('./password-reset.command');
      await passwordReset(command);
      return;
    }
    case 'mfa-reset': {
      const { mfaReset } = await import('./mfa.command');
      await mfaReset(command);
      return;
    }
    case 'mfa-rekey': {
      const { mfaRekey } = await import('./mfa.command');
      await mfaRekey();
      return;
    }
    case 'oidc-clients': {
      const { oidcClients } = await import('./oidc-clients.command');
      await oidcClients(command);
      return;
    }
    case 'prune': {
      const { prune } = await import('./prune.command');
      await prune();
      return;
    }
  }
}

/** Prints a failure for a person at a terminal and returns the exit code. */
function report(error: unknown): number {
  if (error instanceof UsageError) {
    console.error(`Error: ${error.message}\n\n${USAGE}`);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    console.error(error.message);
    return error.exitCode;
  }
  // Configuration errors name the variable; a stack would only bury that.
  if (error instanceof ConfigurationError) {
    console.error(error.message);
    return 1;
  }
  // Only the stack: inspecting the whole error could print query parameters such as a password hash.
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return 1;
}

// exitCode rather than exit(): the output is flushed and the closed app context lets Node stop.
main(process.argv.slice(2)).then(
  () => {
    process.exitCode = 0;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
