import { cliContext } from './cli-context';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RoleName } from '../access/role-name';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/errors/domain-error';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { configFromEnvironment } from '../config/app-config';
import { UsersService } from '../users/users.service';
import { CliError, UsageError } from './cli-error';
import { CliModule } from './cli.module';
import { type CheckedRow, checkSeedRecords, type RowProblem } from './seed-user-rows';
import { formatOfFileName, readSeedRecords, type SeedFileFormat } from './seed-users-file';

export interface ImportUsersOptions {
  file: string;
  format?: SeedFileFormat;
  dryRun: boolean;
  skipInvalid: boolean;
}

const plural = (count: number, one: string, many = `${one}s`): string =>
  `${count} ${count === 1 ? one : many}`;

/**
 * Imports the users of a FastAPI tutorial app (docs/decisions.md, "Importing the FastAPI
 * tutorials' users"): every record is checked first; one already present (username or email
 * taken) is skipped and reported, so an import can be run again; any invalid record stops the
 * import unless `skipInvalid`. The rest is created in one transaction with ROLE_USER and one
 * audit event each, or with `dryRun` only reported. Hashes are never printed.
 */
export async function importUsers(options: ImportUsersOptions): Promise<void> {
  configFromEnvironment();
  const format = options.format ?? formatOfFileName(options.file);
  if (format === undefined) {
    throw new UsageError(
      `Cannot tell the format of "${options.file}": name it .json or .csv, or pass --format`,
    );
  }
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (error) {
    throw new CliError(
      `Error: cannot read ${options.file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      1,
    );
  }
  const records = readSeedRecords(text, format);
  const { valid, invalid } = await checkSeedRecords(records);

  const app = await cliContext(CliModule, { writes: true });
  try {
    const users = app.get(UsersService);
    const taken = await users.findTakenNames({
      usernames: valid.map((row) => row.account.username),
      emails: valid.map((row) => row.account.email),
    });
    const skipped: RowProblem[] = [];
    const fresh: CheckedRow[] = [];
    for (const row of valid) {
      const { username, email } = row.account;
      if (taken.usernames.has(username)) {
        skipped.push({ where: row.where, problem: `username "${username}" is already taken` });
      } else if (taken.emails.has(email)) {
        skipped.push({ where: row.where, problem: `email "${email}" is already registered` });
      } else fresh.push(row);
    }

    console.log(`${options.file}: ${plural(records.length, 'record')}`);
    // In the file's order.
    const order = new Map(records.map((record, index) => [record.where, index]));
    const report = [
      ...invalid.map((row) => ({ ...row, kind: 'invalid' })),
      ...skipped.map((row) => ({ ...row, kind: 'skipped' })),
    ].sort((a, b) => (order.get(a.where) ?? 0) - (order.get(b.where) ?? 0));
    for (const row of report) console.log(`  ${row.where}: ${row.kind}: ${row.problem}`);

    if (invalid.length > 0 && !options.skipInvalid) {
      throw new CliError(
        `Error: ${plural(invalid.length, 'record is', 'records are')} invalid; ` +
          `${options.dryRun ? 'the import would import nothing' : 'nothing was imported'} ` +
          `(fix ${invalid.length === 1 ? 'it' : 'them'}, or pass --skip-invalid to import the others)`,
        1,
      );
    }
    const active = fresh.filter((row) => row.account.isActive).length;
    const counts =
      `${plural(fresh.length, 'account')} with ${RoleName.User} ` +
      `(${active} active, ${fresh.length - active} inactive); ` +
      `${options.dryRun ? 'would skip' : 'skipped'} ${skipped.length} already present, ` +
      `${invalid.length} invalid`;
    if (options.dryRun) {
      console.log(`Dry run: would import ${counts}; nothing was changed`);
      return;
    }
    const file = path.basename(options.file);
    const audit = app.get(AuditService);
    await users
      .importAccounts(
        fresh.map((row) => row.account),
        [RoleName.User],
        {
          // In the accounts' transaction: every imported account has its event, and no other.
          audit: async (tx, created) => {
            for (const { user } of created) {
              await audit.record(
                tx,
                {
                  type: 'user.imported',
                  actorId: null,
                  subjectUserId: user.id,
                  details: {
                    via: 'cli',
                    file,
                    username: user.username,
                    email: user.email,
                    isActive: user.isActive,
                    hashScheme: 'bcrypt',
                  },
                },
                NO_REQUEST_CONTEXT,
              );
            }
          },
        },
      )
      .catch((error: unknown) => {
        if (!(error instanceof DomainError)) throw error;
        // A name taken between the check and the transaction: all of it rolled back.
        throw new CliError(
          `Error: ${error.message} (taken while importing); nothing was imported, run it again`,
          1,
        );
      });
    console.log(`Imported ${counts}`);
  } finally {
    await app.close();
  }
}
