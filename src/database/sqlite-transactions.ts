import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource } from 'typeorm';

/**
 * TypeORM's better-sqlite3 driver runs every transaction on one shared connection, so two
 * transactions started at the same time interleave (one fails with "cannot start a transaction
 * within a transaction", or one becomes a savepoint of the other and is lost with it). SQLite
 * allows one writer anyway: this queues transactions so each runs alone; a transaction started
 * inside another (same async context) still nests as a savepoint. PostgreSQL is left untouched.
 */
export function serialiseSqliteTransactions(dataSource: DataSource): DataSource {
  if (dataSource.options.type !== 'better-sqlite3') return dataSource;
  const manager = dataSource.manager;
  const original = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  const inside = new AsyncLocalStorage<true>();
  let tail: Promise<unknown> = Promise.resolve();
  const queued = (...args: unknown[]): Promise<unknown> => {
    if (inside.getStore() === true) return original(...args);
    const run = tail.then(() => inside.run(true, () => original(...args)));
    tail = run.catch(() => undefined);
    return run;
  };
  (manager as unknown as { transaction: typeof queued }).transaction = queued;
  return dataSource;
}
