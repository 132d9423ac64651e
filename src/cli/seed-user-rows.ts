import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { bcryptHashProblem } from '../passwords/legacy-bcrypt';
import { IsCanonicalEmail, IsCanonicalUsername } from '../users/dto/account-name.validators';
import type { ImportedAccount } from '../users/users.service';
import type { SeedRecord } from './seed-users-file';

/** The names an account takes, under the registration rules (NFKC, lower case, lengths). */
class SeedAccountNames {
  @IsCanonicalUsername()
  username: string;

  @IsCanonicalEmail()
  email: string;
}

export interface CheckedRow {
  where: string;
  account: ImportedAccount;
}

export interface RowProblem {
  where: string;
  problem: string;
}

const TRUE = new Set(['true', 't', '1', 'yes', 'y']);
const FALSE = new Set(['false', 'f', '0', 'no', 'n']);

/** A flag as JSON, SQLite (0/1) or PostgreSQL (t/f) write it; undefined when absent or null. */
function flag(value: unknown): boolean | undefined | 'invalid' {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === 'string') {
    const normalised = value.trim().toLowerCase();
    if (TRUE.has(normalised)) return true;
    if (FALSE.has(normalised)) return false;
  }
  return 'invalid';
}

/** `is_active` or the tutorials' `disabled`; active when neither is given (as FastAPI's None). */
function activeFlag(fields: Record<string, unknown>): boolean | string {
  const isActive = flag(fields.is_active);
  const disabled = flag(fields.disabled);
  if (isActive === 'invalid') return 'is_active must be true or false';
  if (disabled === 'invalid') return 'disabled must be true or false';
  if (isActive !== undefined && disabled !== undefined && isActive === disabled) {
    return 'is_active and disabled contradict each other';
  }
  return isActive ?? (disabled === undefined ? true : !disabled);
}

/** The hash column: the tutorials' `hashed_password`, or `password_hash`. */
function hashOf(fields: Record<string, unknown>): unknown {
  return fields.hashed_password ?? fields.password_hash;
}

async function checkRecord(record: SeedRecord): Promise<ImportedAccount | string[]> {
  if (record.problem !== undefined) return [record.problem];
  const fields = record.fields;
  if (fields === undefined) return ['is not an object'];
  const problems: string[] = [];
  for (const name of ['username', 'email'] as const) {
    if (fields[name] === undefined || fields[name] === null || fields[name] === '') {
      problems.push(`${name} is missing`);
    }
  }
  const names = plainToInstance(SeedAccountNames, {
    username: fields.username,
    email: fields.email,
  });
  for (const error of await validate(names)) {
    if (problems.includes(`${error.property} is missing`)) continue;
    // One message per field: the first rule it breaks.
    const [first] = Object.values(error.constraints ?? {});
    if (first !== undefined) problems.push(first);
  }
  const hash = hashOf(fields);
  if (fields.hashed_password !== undefined && fields.password_hash !== undefined) {
    problems.push('give hashed_password or password_hash, not both');
  } else if (typeof hash !== 'string' || hash === '') {
    problems.push('hashed_password is missing');
  } else {
    const problem = bcryptHashProblem(hash);
    if (problem !== undefined) problems.push(`hashed_password is ${problem}`);
  }
  const active = activeFlag(fields);
  if (typeof active === 'string') problems.push(active);
  if (problems.length > 0) return problems;
  return {
    username: names.username,
    email: names.email,
    isActive: active as boolean,
    passwordHash: hash as string,
  };
}

/**
 * Applies the import rules to every record: the registration rules for names, a bcrypt hash,
 * a readable active flag, and no two records with one username or email (compared in
 * canonical form, so `Alice` and `alice` clash: the service cannot hold both).
 */
export async function checkSeedRecords(
  records: SeedRecord[],
): Promise<{ valid: CheckedRow[]; invalid: RowProblem[] }> {
  const checked = await Promise.all(records.map(checkRecord));
  const places = { username: new Map<string, string[]>(), email: new Map<string, string[]>() };
  checked.forEach((result, index) => {
    if (Array.isArray(result)) return;
    for (const name of ['username', 'email'] as const) {
      const seen = places[name].get(result[name]) ?? [];
      seen.push(records[index]?.where ?? '');
      places[name].set(result[name], seen);
    }
  });
  const valid: CheckedRow[] = [];
  const invalid: RowProblem[] = [];
  checked.forEach((result, index) => {
    const where = records[index]?.where ?? '';
    if (Array.isArray(result)) {
      invalid.push({ where, problem: result.join('; ') });
      return;
    }
    const clashes = (['username', 'email'] as const).flatMap((name) => {
      const others = (places[name].get(result[name]) ?? []).filter((place) => place !== where);
      return others.length === 0
        ? []
        : [`${name} "${result[name]}" is also on ${others.join(', ')}`];
    });
    if (clashes.length > 0) invalid.push({ where, problem: clashes.join('; ') });
    else valid.push({ where, account: result });
  });
  return { valid, invalid };
}
