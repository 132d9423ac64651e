import type { DataSource } from 'typeorm';

/**
 * Queues the transactions started through the data source so each runs alone: TypeORM's
 * better-sqlite3 driver runs them all on one connection, where two at once interleave and one
 * fails or is lost. PostgreSQL is left untouched. Work inside a transaction must use the manager
 * handed to its callback; opening another through the data source waits for itself
 * (docs/decisions.md, "Serialised SQLite transactions").
 */
export function serialiseSqliteTransactions(dataSource: DataSource): DataSource {
  if (dataSource.options.type !== 'better-sqlite3') return dataSource;
  const manager = dataSource.manager;
  const original = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  const queued = (...args: unknown[]): Promise<unknown> => {
    const run = tail.then(() => original(...args));
    tail = run.catch(() => undefined);
    return run;
  };
  (manager as unknown as { transaction: typeof queued }).transaction = queued;
  return dataSource;
}
