import { parseArgs } from 'node:util';
import { UsageError } from './cli-error';

export const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-admin --username <name> --email <address>
      Creates an account with ROLE_USER, ROLE_MODERATOR and ROLE_ADMIN. The password is read
      from ADMIN_PASSWORD, or asked for twice (hidden) when run on a terminal.

  audit:verify [--head <sequence>:<hash>]
      Checks the audit log's keyed chain (AUDIT_KEY) from its first event or its retention
      checkpoint. With --head (a line of audit:head kept elsewhere), the chain must still
      hold that event unchanged, so removing the newest events is detected too. Exits 0 when
      intact, 1 naming the first altered event when not. Reads only; runs no migrations.

  audit:head
      Prints the newest event as "<sequence>:<hash> <time>": keep it outside the database
      (a ticket, a log shipper) and give it to audit:verify --head later. Reads only.

  import-users --file <users.json|users.csv> [--format json|csv] [--dry-run] [--skip-invalid]
      Imports the users of a FastAPI tutorial app (README, "Migrating from the FastAPI
      tutorials"): username, email, is_active or disabled, and a bcrypt hashed_password. Each
      gets ROLE_USER; the old password works and is rehashed to argon2id at its first login.
      Every record is checked first: accounts already present are skipped, any invalid record
      stops the import (nothing imported) unless --skip-invalid; the rest is imported in one
      transaction. --dry-run reports what would happen and changes no account.

  migrate
      Applies pending migrations (the server also does at boot) and names each one; for a
      deployment step before the new version starts: node dist/src/cli/main.js migrate.

  password-reset --user <username|email>
      Mails the user a password reset link (PASSWORD_RESET_ENABLED): queued in the outbox and
      delivered by a running server (README, "Mail"). Audited.

  email-verified --user <username|email> [--unverified]
      Marks the user's email verified (or, with --unverified, not verified). Audited.

  mfa-reset --user <username|email|id>
      Resets the user's second factors, as an administrator's DELETE /users/:id/mfa: the
      authenticator (TOTP), passkeys and recovery codes are deleted and every session of the
      user ends. The user is told by mail (delivered by a running server). Audited.

  mfa-rekey
      Seals every TOTP secret again under the current MFA_ENCRYPTION_KEY and prints how many
      (README, "Second factors": key rotation). Run it after moving the old key to
      MFA_PREVIOUS_ENCRYPTION_KEYS; then the old key can be dropped. Safe while the service
      runs. Audited.

  prune
      Runs one retention pass (SESSION_RETENTION_DAYS, MAIL_RETENTION_DAYS,
      AUDIT_RETENTION_DAYS) and prints what it deleted. Safe while the service runs.

Options:
  -h, --help  Show this help.
`;

export type CliCommand =
  | { name: 'help' }
  | { name: 'create-admin'; username: string; email: string }
  | { name: 'audit:verify'; head?: { sequence: number; hash: string } }
  | { name: 'audit:head' }
  | { name: 'migrate' }
  | { name: 'prune' }
  | { name: 'mfa-rekey' }
  | { name: 'mfa-reset'; user: string }
  | { name: 'password-reset'; user: string }
  | { name: 'email-verified'; user: string; verified: boolean }
  | {
      name: 'import-users';
      file: string;
      format?: 'json' | 'csv';
      dryRun: boolean;
      skipInvalid: boolean;
    };

const COMMANDS = [
  'create-admin',
  'audit:verify',
  'audit:head',
  'migrate',
  'prune',
  'import-users',
  'password-reset',
  'email-verified',
  'mfa-reset',
  'mfa-rekey',
] as const;
const OPTIONS_OF: Partial<Record<(typeof COMMANDS)[number], string[]>> = {
  'audit:verify': ['help', 'head'],
  'import-users': ['help', 'file', 'format', 'dry-run', 'skip-invalid'],
  'password-reset': ['help', 'user'],
  'email-verified': ['help', 'user', 'unverified'],
  'mfa-reset': ['help', 'user'],
};
const HEAD = /^([1-9]\d{0,15}):([0-9a-f]{64})$/;

export function parseCliArgs(argv: string[]): CliCommand {
  let parsed: ReturnType<typeof parseWithNode>;
  try {
    parsed = parseWithNode(argv);
  } catch (error) {
    // node:util's parse errors (unknown option, missing value) are usage errors, not crashes.
    if (
      error instanceof TypeError &&
      String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
    ) {
      throw new UsageError(error.message);
    }
    throw error;
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) return { name: 'help' };

  const [command, ...extra] = positionals;
  if (!COMMANDS.some((known) => known === command)) {
    throw new UsageError(`Unknown command "${command}"`);
  }
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}"`);
  if (command !== 'create-admin') {
    const allowed = OPTIONS_OF[command as (typeof COMMANDS)[number]] ?? ['help'];
    const given = Object.keys(values).find((option) => !allowed.includes(option));
    if (given !== undefined) throw new UsageError(`${command} takes no option --${given}`);
  }
  if (
    command === 'audit:head' ||
    command === 'migrate' ||
    command === 'prune' ||
    command === 'mfa-rekey'
  ) {
    return { name: command };
  }
  if (command === 'import-users') {
    if (values.file === undefined || values.file === '') {
      throw new UsageError('Missing option --file');
    }
    const format = values.format;
    if (format !== undefined && format !== 'json' && format !== 'csv') {
      throw new UsageError('--format must be json or csv');
    }
    return {
      name: 'import-users',
      file: values.file,
      ...(format === undefined ? {} : { format }),
      dryRun: values['dry-run'] === true,
      skipInvalid: values['skip-invalid'] === true,
    };
  }
  if (command === 'password-reset' || command === 'email-verified' || command === 'mfa-reset') {
    if (values.user === undefined || values.user.trim() === '') {
      throw new UsageError('Missing option --user');
    }
    return command === 'password-reset' || command === 'mfa-reset'
      ? { name: command, user: values.user }
      : { name: command, user: values.user, verified: values.unverified !== true };
  }
  if (command === 'audit:verify') {
    if (values.head === undefined) return { name: 'audit:verify' };
    // The first word of an audit:head line; the time after it is only for people.
    const match = HEAD.exec(values.head.trim().split(/\s+/)[0] ?? '');
    if (match === null) {
      throw new UsageError('--head must be <sequence>:<hash> as audit:head prints it');
    }
    return { name: 'audit:verify', head: { sequence: Number(match[1]), hash: match[2] ?? '' } };
  }
  const foreign = ['head', 'file', 'format', 'dry-run', 'skip-invalid', 'user', 'unverified'].find(
    (option) => values[option as keyof typeof values] !== undefined,
  );
  if (foreign !== undefined) throw new UsageError(`create-admin takes no option --${foreign}`);
  if (values.username === undefined) throw new UsageError('Missing option --username');
  if (values.email === undefined) throw new UsageError('Missing option --email');
  return { name: 'create-admin', username: values.username, email: values.email };
}

function parseWithNode(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      username: { type: 'string' },
      email: { type: 'string' },
      head: { type: 'string' },
      file: { type: 'string' },
      format: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'skip-invalid': { type: 'boolean' },
      user: { type: 'string' },
      unverified: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
}
