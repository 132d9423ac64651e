import { DataSource, type EntityManager, type ObjectLiteral, QueryFailedError } from 'typeorm';

/**
 * A fixed SQL text of a hot path (login, refresh, the token check, the audit append), with
 * `:named` parameters. `name` identifies it as a prepared statement on PostgreSQL: unique per
 * text, and the text must never be built from input.
 */
export interface Statement {
  name: string;
  sql: string;
}

export interface StatementResult<T> {
  rows: T[];
  affected: number;
}

interface PgQueryable {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{
    rows: unknown[];
    rowCount: number | null;
  }>;
}

/**
 * Runs `statement` with `parameters`, on the transaction of `manager` if it has one, otherwise
 * on the pool. On PostgreSQL as a named prepared statement: each connection parses and plans it
 * once instead of on every call (a third of PostgreSQL's CPU time per login;
 * docs/benchmarks.md). The statements are a fixed, small set, so what each connection keeps is
 * bounded. Errors are TypeORM's `QueryFailedError`, as from any other query.
 *
 * PostgreSQL keeps the plan until the connection closes; a migration that changes the type of
 * a column one of them returns makes it fail with "cached plan must not change result type"
 * until the service restarts (migrations run at boot, before any is prepared).
 */
export async function runStatement<T = unknown>(
  dataSource: DataSource,
  manager: EntityManager | undefined,
  statement: Statement,
  parameters: ObjectLiteral,
): Promise<StatementResult<T>> {
  const [text, values] = dataSource.driver.escapeQueryWithParameters(statement.sql, parameters);
  const queryRunner = manager?.queryRunner;
  if (dataSource.options.type !== 'postgres') {
    // SQLite: TypeORM's own query path (better-sqlite3 caches the prepared statement).
    const runner = queryRunner ?? dataSource.createQueryRunner();
    try {
      const result = (await runner.query(text, values, true)) as {
        records?: T[];
        affected?: number;
      };
      return { rows: result.records ?? [], affected: result.affected ?? 0 };
    } finally {
      if (queryRunner === undefined) await runner.release();
    }
  }
  const connection = (
    queryRunner
      ? await queryRunner.connect()
      : (dataSource.driver as unknown as { master: PgQueryable }).master
  ) as PgQueryable;
  try {
    const raw = await connection.query({ name: statement.name, text, values });
    return { rows: raw.rows as T[], affected: raw.rowCount ?? 0 };
  } catch (error) {
    throw new QueryFailedError(text, values, error as Error);
  }
}
