import type { DataSource } from 'typeorm';

/**
 * TypeORM's better-sqlite3 driver runs every transaction on one shared connection, so two
 * transactions started at the same time interleave (one fails with "cannot start a transaction
 * within a transaction", or one becomes a savepoint of the other and is lost with it). SQLite
 * allows one writer anyway: this queues the transactions started through the data source so
 * each runs alone. PostgreSQL is left untouched.
 *
 * Work inside a transaction uses the manager handed to its callback (a transaction started on
 * that manager nests as a savepoint); starting another through the data source from inside one
 * would wait for itself. No AsyncLocalStorage tells the two apart on purpose: in this Node
 * version one in use anywhere adds async hooks to every promise of every request (a third of
 * the CPU time of a cached GET /users/me; docs/benchmarks.md).
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
