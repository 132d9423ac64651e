import type {
  EntitySubscriberInterface,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import type { Transaction } from '../database/database';

const QUEUED = Symbol('mailQueued');

type RunnerData = Record<symbol, true | undefined>;

/**
 * Tells the outbox worker that mail was queued, once the transaction that queued it has
 * committed (a rolled-back one queued nothing). TypeORM's transaction events of the Database.
 */
export class MailQueuedSubscriber implements EntitySubscriberInterface {
  constructor(private readonly committed: () => void) {}

  /** Notes that `tx` queued mail; false when `tx` is no open transaction (it is committed). */
  static note(tx: Transaction): boolean {
    const runner = tx.queryRunner;
    if (runner === undefined || !runner.isTransactionActive) return false;
    (runner.data as RunnerData)[QUEUED] = true;
    return true;
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A released savepoint is not a commit: wait for the outermost transaction.
    if (event.queryRunner.isTransactionActive) return;
    const data = event.queryRunner.data as RunnerData;
    if (data[QUEUED] !== true) return;
    delete data[QUEUED];
    this.committed();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    // A savepoint's rollback keeps the note: at worst the worker looks and finds nothing.
    if (!event.queryRunner.isTransactionActive) {
      delete (event.queryRunner.data as RunnerData)[QUEUED];
    }
  }
}
