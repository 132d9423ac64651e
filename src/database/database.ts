import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  EntityTarget,
  ObjectLiteral,
} from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { runStatement, type Statement, type StatementResult } from './statements';

export type { Statement, StatementResult } from './statements';

/** The two databases the service runs on. */
export type Dialect = 'postgres' | 'sqlite';

declare const TRANSACTION: unique symbol;

/**
 * A transaction in progress. Services hand it from `Transactions.run` to repository methods so
 * that their statements commit or roll back together; only src/database/ looks inside.
 * (While code moves into repositories it is still TypeORM's EntityManager underneath.)
 */
export type Transaction = EntityManager & { readonly [TRANSACTION]?: true };

/** A better-sqlite3 prepared statement (the driver's own, synchronous). */
export interface SqliteStatement {
  all(...parameters: unknown[]): unknown[];
  get(...parameters: unknown[]): unknown;
  pluck(): SqliteStatement;
}

/**
 * The one place that knows TypeORM: repositories reach the database only through this class,
 * so a TypeORM upgrade touches src/database/ alone (docs/decisions.md,
 * "Repositories and the Database adapter").
 * What it hides: the driver's native handles (SQLite prepared statements, PostgreSQL's pool for
 * named statements), the per-column value conversion, the serialised SQLite transactions
 * (sqlite-transactions.ts) and TypeORM's subscribers.
 */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/** What of pg's Pool the stats read. */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max: number };
}

@Injectable()
export class Database {
  readonly dialect: Dialect;
  private readonly columns = new Map<string, ColumnMetadata>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.dialect = dialectOf(dataSource);
  }

  /** See {@link Transactions.run}. */
  transaction<T>(work: (tx: Transaction) => Promise<T>, outer?: Transaction): Promise<T> {
    const manager = outer ?? this.dataSource.manager;
    return manager.transaction((transactional) => work(transactional));
  }

  /** Runs a fixed statement (statements.ts), in `tx` when given, else on its own. */
  run<T = unknown>(
    statement: Statement,
    parameters: ObjectLiteral,
    tx?: Transaction,
  ): Promise<StatementResult<T>> {
    return runStatement<T>(this.dataSource, tx, statement, parameters);
  }

  /** A one-off query with positional parameters (`$1` on PostgreSQL, `?` on SQLite). */
  query<T = unknown>(sql: string, parameters: unknown[] = [], tx?: Transaction): Promise<T[]> {
    const manager = tx ?? this.dataSource.manager;
    return manager.query<T[]>(sql, parameters);
  }

  /** TypeORM's entity manager for the entity API (find, save, query builder), in `tx` if given. */
  manager(tx?: Transaction): EntityManager {
    return tx ?? this.dataSource.manager;
  }

  /**
   * SQLite only: a prepared statement on the driver's own connection, for the per-request reads
   * where TypeORM's query path costs more than the query. Synchronous, outside any transaction
   * (docs/decisions.md, "SQLite statements: our binding, the driver's prepared statements").
   */
  prepareSqlite(sql: string): SqliteStatement {
    if (this.dialect !== 'sqlite') throw new Error('prepareSqlite: not a SQLite database');
    const { databaseConnection } = this.dataSource.driver as unknown as {
      databaseConnection: { prepare(sql: string): SqliteStatement };
    };
    return databaseConnection.prepare(sql);
  }

  /** `value` as TypeORM stores it in the column of `entity.property` (dates: per dialect). */
  columnValue(entity: EntityTarget<ObjectLiteral>, property: string, value: unknown): unknown {
    return this.dataSource.driver.preparePersistentValue(value, this.column(entity, property));
  }

  /**
   * PostgreSQL: the connections of the driver's pool (pg's Pool): open, idle, and queries
   * waiting for one; undefined on SQLite (one connection, no pool).
   */
  poolStats(): PoolStats | undefined {
    if (this.dialect !== 'postgres') return undefined;
    const pool = (this.dataSource.driver as unknown as { master?: PgPool }).master;
    if (pool === undefined) return undefined;
    return {
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: pool.options.max,
    };
  }

  /** Registers a subscriber to TypeORM's entity and transaction events of this data source. */
  subscribe(subscriber: EntitySubscriberInterface): void {
    this.dataSource.subscribers.push(subscriber);
  }

  private column(entity: EntityTarget<ObjectLiteral>, property: string): ColumnMetadata {
    const metadata = this.dataSource.getMetadata(entity);
    const key = `${metadata.tableName}.${property}`;
    let column = this.columns.get(key);
    if (column === undefined) {
      column = metadata.findColumnWithPropertyName(property);
      if (column === undefined) throw new Error(`no column ${key}`);
      this.columns.set(key, column);
    }
    return column;
  }
}

/**
 * What services may do with the database themselves: group repository calls into one
 * transaction. Everything else goes through a repository.
 */
@Injectable()
export class Transactions {
  constructor(private readonly database: Database) {}

  /**
   * Runs `work` in a transaction: committed when it resolves, rolled back when it throws. Inside
   * `outer`, a savepoint of it instead (the work can fail alone). On SQLite transactions run one
   * at a time (sqlite-transactions.ts): never start one from inside another without `outer`, it
   * would wait for itself.
   */
  run<T>(work: (tx: Transaction) => Promise<T>, outer?: Transaction): Promise<T> {
    return this.database.transaction(work, outer);
  }
}

/** The dialect of a data source (TypeORM's driver names differ from ours). */
export function dialectOf(dataSource: DataSource): Dialect {
  return dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
}

/** PostgreSQL hands back Dates; SQLite the UTC text TypeORM stored ("YYYY-MM-DD HH:MM:SS.SSS"). */
export function toDate(value: Date | string | number): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  const iso = value.includes('T') ? value : value.replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`);
}

export function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}
