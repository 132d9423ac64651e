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

  oidc-clients create --name <client name> [--redirect-uri <uri>]... [--grant-type <grant>]...
      [--auth-method none|client_secret_basic|client_secret_post] [--scope "<scopes>"]
      [--post-logout-redirect-uri <uri>]... [--application-type web|native] [--first-party]
      Registers a client of the OpenID Provider, as POST /oidc-clients does, with the same
      defaults and rules (docs/oidc-clients.md). Prints its client_id and, for a confidential
      client, its client_secret: shown this once, only its hash is kept. Audited.

  oidc-clients list
  oidc-clients show --id <client_id>
      Lists the clients (one line each), or prints one as JSON. Never a secret.

  oidc-clients rotate-secret --id <client_id>
      Gives a confidential client a new secret and prints it once; the old one stops working.
      Audited.

  oidc-clients delete --id <client_id>
      Deletes a client; its codes, refresh tokens and opaque tokens are refused from then on
      (an API token it already holds lasts until it expires). Audited.

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
    }
  | { name: 'oidc-clients'; action: 'create'; client: OidcClientOptions }
  | { name: 'oidc-clients'; action: 'list' }
  | { name: 'oidc-clients'; action: 'show' | 'rotate-secret' | 'delete'; id: string };

/** What `oidc-clients create` was given, in the RFC 7591 names of POST /oidc-clients. */
export interface OidcClientOptions {
  client_name: string;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: string[];
  token_endpoint_auth_method?: string;
  scope?: string;
  application_type?: string;
  first_party?: boolean;
}

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
  'oidc-clients',
] as const;
const OIDC_CLIENT_ACTIONS = ['create', 'list', 'show', 'rotate-secret', 'delete'] as const;
// The options of `oidc-clients create`, by the metadata name each one sets.
const OIDC_CLIENT_OPTIONS = {
  'redirect-uri': 'redirect_uris',
  'post-logout-redirect-uri': 'post_logout_redirect_uris',
  'grant-type': 'grant_types',
  'auth-method': 'token_endpoint_auth_method',
  scope: 'scope',
  'application-type': 'application_type',
} as const;
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
  if (command === 'oidc-clients') return parseOidcClients(extra, values);
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
  const foreign = Object.keys(values).find(
    (option) => option !== 'username' && option !== 'email' && option !== 'help',
  );
  if (foreign !== undefined) throw new UsageError(`create-admin takes no option --${foreign}`);
  if (values.username === undefined) throw new UsageError('Missing option --username');
  if (values.email === undefined) throw new UsageError('Missing option --email');
  return { name: 'create-admin', username: values.username, email: values.email };
}

/** `oidc-clients <action> ...`: one action, then the options that action takes. */
function parseOidcClients(
  positionals: string[],
  values: ReturnType<typeof parseWithNode>['values'],
): CliCommand {
  const [action, ...extra] = positionals;
  if (action === undefined) throw new UsageError('oidc-clients needs an action');
  const known = OIDC_CLIENT_ACTIONS.find((name) => name === action);
  if (known === undefined) throw new UsageError(`Unknown oidc-clients action "${action}"`);
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}"`);
  const allowed =
    known === 'create'
      ? ['help', 'name', 'first-party', ...Object.keys(OIDC_CLIENT_OPTIONS)]
      : known === 'list'
        ? ['help']
        : ['help', 'id'];
  const given = Object.keys(values).find((option) => !allowed.includes(option));
  if (given !== undefined) {
    throw new UsageError(`oidc-clients ${known} takes no option --${given}`);
  }
  if (known === 'list') return { name: 'oidc-clients', action: known };
  if (known !== 'create') {
    if (values.id === undefined || values.id.trim() === '') {
      throw new UsageError('Missing option --id');
    }
    return { name: 'oidc-clients', action: known, id: values.id.trim() };
  }
  if (values.name === undefined) throw new UsageError('Missing option --name');
  const client: OidcClientOptions = { client_name: values.name };
  for (const [option, field] of Object.entries(OIDC_CLIENT_OPTIONS)) {
    const value = values[option as keyof typeof OIDC_CLIENT_OPTIONS];
    if (value !== undefined) Object.assign(client, { [field]: value });
  }
  if (values['first-party'] === true) client.first_party = true;
  return { name: 'oidc-clients', action: 'create', client };
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
      id: { type: 'string' },
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'grant-type': { type: 'string', multiple: true },
      'auth-method': { type: 'string' },
      scope: { type: 'string' },
      'application-type': { type: 'string' },
      'first-party': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
}
