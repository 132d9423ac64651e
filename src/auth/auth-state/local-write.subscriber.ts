import type {
  EntitySubscriberInterface,
  InsertEvent,
  QueryRunner,
  RemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm';
import { Session } from '../../sessions/session.entity';
import { Role } from '../../users/entities/role.entity';
import { UserRole } from '../../users/entities/user-role.entity';
import { User } from '../../users/entities/user.entity';
import type { AuthStateCache } from './auth-state.cache';

type Pending = { accounts?: boolean; sessions?: boolean };
const PENDING = Symbol('authStatePending');

/**
 * This instance's own writes through TypeORM drop what they may have changed as soon as they
 * are committed (inside a transaction: at its commit; a rollback forgets them). Coarse, because
 * TypeORM's update and delete events do not carry the rows' ids: a user change drops every
 * account, a revocation every session. Such writes are rare next to reads.
 */
export class LocalWriteSubscriber implements EntitySubscriberInterface {
  constructor(private readonly cache: AuthStateCache) {}

  afterInsert(event: InsertEvent<unknown>): void {
    if (event.metadata.target === UserRole) this.changed(event.queryRunner, { accounts: true });
  }

  afterUpdate(event: UpdateEvent<unknown>): void {
    const target = event.metadata.target;
    if (target === User || target === UserRole || target === Role) {
      this.changed(event.queryRunner, { accounts: true });
    } else if (target === Session) {
      const values = (event.entity ?? {}) as Record<string, unknown>;
      if ('revokedAt' in values || 'userId' in values || 'absoluteExpiresAt' in values) {
        this.changed(event.queryRunner, { sessions: true });
      }
    }
  }

  afterRemove(event: RemoveEvent<unknown>): void {
    const target = event.metadata.target;
    if (target === User || target === UserRole || target === Role) {
      this.changed(event.queryRunner, { accounts: true });
    } else if (target === Session) {
      this.changed(event.queryRunner, { sessions: true });
    }
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A released savepoint is not a commit: wait for the outermost transaction.
    if (event.queryRunner.isTransactionActive) return;
    const pending = pendingOf(event.queryRunner);
    if (pending === undefined) return;
    delete (event.queryRunner.data as Record<symbol, unknown>)[PENDING];
    this.apply(pending);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) {
      delete (event.queryRunner.data as Record<symbol, unknown>)[PENDING];
    }
  }

  private changed(queryRunner: QueryRunner, change: Pending): void {
    if (!queryRunner.isTransactionActive) {
      this.apply(change);
      return;
    }
    const data = queryRunner.data as Record<symbol, Pending | undefined>;
    data[PENDING] = { ...data[PENDING], ...change };
  }

  private apply(change: Pending): void {
    if (change.accounts === true) this.cache.invalidateAccounts();
    if (change.sessions === true) this.cache.invalidateSessions();
  }
}

function pendingOf(queryRunner: QueryRunner): Pending | undefined {
  return (queryRunner.data as Record<symbol, Pending | undefined>)[PENDING];
}
