import type {
  EntitySubscriberInterface,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import type { Transaction } from '../database/database';

const CALLBACKS = Symbol('afterCommit');

type RunnerData = Record<symbol, Set<() => void> | undefined>;

/**
 * Runs the callbacks noted for a transaction once its outermost level has committed (the outbox
 * wakes its worker this way); a rollback drops them. TypeORM's transaction events.
 */
export class AfterCommitSubscriber implements EntitySubscriberInterface {
  /** Runs `callback` (once, however often noted) after `tx` commits; at once outside one. */
  static note(tx: Transaction, callback: () => void): void {
    const runner = tx.queryRunner;
    if (runner === undefined || !runner.isTransactionActive) {
      callback();
      return;
    }
    const data = runner.data as RunnerData;
    (data[CALLBACKS] ??= new Set()).add(callback);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A released savepoint is not a commit: wait for the outermost transaction.
    if (event.queryRunner.isTransactionActive) return;
    const data = event.queryRunner.data as RunnerData;
    const callbacks = data[CALLBACKS];
    if (callbacks === undefined) return;
    delete data[CALLBACKS];
    for (const callback of callbacks) callback();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    // A savepoint's rollback keeps them: at worst the worker looks and finds nothing.
    if (!event.queryRunner.isTransactionActive) {
      delete (event.queryRunner.data as RunnerData)[CALLBACKS];
    }
  }
}
