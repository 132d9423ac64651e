import { parseArgs } from 'node:util';
import { UsageError } from './cli-error';

export const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-admin --username <name> --email <address>
      Creates an account with ROLE_USER, ROLE_MODERATOR and ROLE_ADMIN. The password is read
      from ADMIN_PASSWORD, or asked for twice (hidden) when run on a terminal.

  audit:verify
      Checks the audit log's hash chain from the first event. Exits 0 when it is intact, 1 and
      names the first altered event when it is not. Reads only; runs no migrations.

Options:
  -h, --help  Show this help.
`;

export type CliCommand =
  | { name: 'help' }
  | { name: 'create-admin'; username: string; email: string }
  | { name: 'audit:verify' };

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
  if (command !== 'create-admin' && command !== 'audit:verify') {
    throw new UsageError(`Unknown command "${command}"`);
  }
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}"`);
  if (command === 'audit:verify') {
    const given = Object.keys(values).find((option) => option !== 'help');
    if (given !== undefined) throw new UsageError(`audit:verify takes no option --${given}`);
    return { name: 'audit:verify' };
  }
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
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
}
