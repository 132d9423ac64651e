import { DataSource, type EntityManager, type ObjectLiteral, QueryFailedError } from 'typeorm';
import { DateUtils } from 'typeorm/util/DateUtils';

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
 * Runs `statement` with `parameters`, in the transaction of `manager` if it has one, otherwise on
 * the pool; on PostgreSQL as a named prepared statement, planned once per connection. Errors are
 * TypeORM's `QueryFailedError`. A migration that changes a returned column's type makes it fail
 * until the service restarts (docs/decisions.md, "Fixed statements, named on PostgreSQL").
 */
export async function runStatement<T = unknown>(
  dataSource: DataSource,
  manager: EntityManager | undefined,
  statement: Statement,
  parameters: ObjectLiteral,
): Promise<StatementResult<T>> {
  const queryRunner = manager?.queryRunner;
  if (dataSource.options.type !== 'postgres') {
    // SQLite: TypeORM's own query path, which caches a prepared statement per SQL text.
    const [text, values] = positionalParameters(statement, parameters);
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
  const [text, values] = dataSource.driver.escapeQueryWithParameters(statement.sql, parameters);
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

/** A statement's SQL with `?` for each `:name`, and the names in their order. */
interface PositionalSql {
  text: string;
  names: string[];
}

const positionalSql = new WeakMap<Statement, PositionalSql>();

/**
 * SQLite: the text with `?` placeholders and every value bound, converted as TypeORM would
 * (booleans as 1/0, a Date as its UTC datetime text); TypeORM writes numbers into the text, which
 * defeated its statement cache (docs/decisions.md, "SQLite statements: our binding, the driver's
 * prepared statements"). No `:...list` expansion: a statement's text is fixed.
 */
function positionalParameters(
  statement: Statement,
  parameters: ObjectLiteral,
): [string, unknown[]] {
  let compiled = positionalSql.get(statement);
  if (compiled === undefined) {
    const names: string[] = [];
    // `:name`, but not the second colon of a `::type` cast.
    const text = statement.sql.replace(/(?<!:):([A-Za-z_]\w*)/g, (_match, name: string) => {
      names.push(name);
      return '?';
    });
    compiled = { text, names };
    positionalSql.set(statement, compiled);
  }
  const values = compiled.names.map((name): unknown => {
    const value: unknown = parameters[name];
    if (value === undefined) throw new Error(`${statement.name}: no value for :${name}`);
    // SQLite has no boolean type: TypeORM writes them as 1 and 0.
    if (typeof value === 'boolean') return Number(value);
    if (value instanceof Date) return DateUtils.mixedDateToUtcDatetimeString(value) as string;
    return value;
  });
  return [compiled.text, values];
}
