import { QueryFailedError } from 'typeorm';

/**
 * If `error` is a unique-constraint violation from PostgreSQL or SQLite, returns the name of the
 * violated constraint or column list (best effort); otherwise undefined.
 */
export function uniqueViolation(error: unknown): string | undefined {
  if (!(error instanceof QueryFailedError)) return undefined;
  const driverError = error.driverError as { code?: string; constraint?: string; message?: string };
  if (driverError.code === '23505') return driverError.constraint ?? '';
  if (
    driverError.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    driverError.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  ) {
    // "UNIQUE constraint failed: users.username"
    return /failed: (.+)$/.exec(driverError.message ?? '')?.[1] ?? '';
  }
  return undefined;
}

/** Whether `error` is a foreign-key violation from PostgreSQL or SQLite (a row it names is gone). */
export function foreignKeyViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const { code } = error.driverError as { code?: string };
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
