import { Injectable } from '@nestjs/common';
import { Brackets } from 'typeorm';
import { Database, type Statement, type Transaction } from '../database/database';
import { AuditEvent } from './audit-event.entity';
import type { AuditEventType } from './audit-event-type';
import type { CheckpointFields } from './audit-hash';

/** The signed statement that events 1..throughSequence were pruned. */
export type AuditCheckpoint = CheckpointFields & { mac: string };

/** An event's place in the chain: what the next event chains to. */
export interface ChainLink {
  sequence: number;
  hash: string;
}

export interface AuditEventFilter {
  page: number;
  limit: number;
  type?: AuditEventType;
  userId?: string;
  from?: Date;
  to?: Date;
}

/**
 * Key of the PostgreSQL advisory lock that serialises appends ("audit" in ASCII). Transaction-level
 * (`pg_advisory_xact_lock`): released by the caller's commit or rollback, never by hand.
 */
export const AUDIT_CHAIN_LOCK_KEY = 0x6175646974;

// The append's statements, in plain SQL: on every login and every change of an account.
// PostgreSQL: the chain's lock, then its last event, in one round trip (migration
// 1764000000007: the function's query sees what the previous holder of the lock committed).
const LOCK_AND_READ_LAST_EVENT: Statement = {
  name: 'identity_audit_chain_head',
  sql: `SELECT last_sequence AS sequence, last_hash AS hash FROM identity_audit_chain_head(:key)`,
};
// SQLite: one connection serialises every write; no lock to take.
const LAST_EVENT: Statement = {
  name: 'identity_audit_last',
  sql: 'SELECT sequence, hash FROM audit_events ORDER BY sequence DESC LIMIT 1',
};
const INSERT_EVENT: Statement = {
  name: 'identity_audit_insert_keyed',
  sql: `
    INSERT INTO audit_events (id, sequence, occurred_at, type, actor_id, subject_user_id, ip,
                              user_agent, request_id, details, prev_hash, hash, key_id)
    VALUES (:id, :sequence, :occurredAt, :type, :actorId, :subjectUserId, :ip, :userAgent,
            :requestId, :details, :prevHash, :hash, :keyId)`,
};
const LATEST_CHECKPOINT: Statement = {
  name: 'identity_audit_checkpoint',
  sql: `
    SELECT through_sequence, through_hash, through_key_id, pruned_count, created_at, key_id, mac
    FROM audit_checkpoints ORDER BY through_sequence DESC LIMIT 1`,
};

// Both tables of the audit log, as TypeORM's QueryRunner.hasTable looks for them.
const AUDIT_TABLES = {
  postgres: `
    SELECT COUNT(*) AS n FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_name IN ('audit_events', 'audit_checkpoints')`,
  sqlite: `
    SELECT COUNT(*) AS n FROM sqlite_master
    WHERE type = 'table' AND name IN ('audit_events', 'audit_checkpoints')`,
} as const;

interface CheckpointRow {
  through_sequence: number | string;
  through_hash: string;
  through_key_id: string | null;
  pruned_count: number | string;
  created_at: Date | string;
  key_id: string;
  mac: string;
}

// Appends through one connection queue up here, so "read the last row, insert the next" never
// interleaves with another append on that connection. The database lock cannot do that:
// PostgreSQL's advisory lock is re-entrant within a session, and better-sqlite3 gives TypeORM one
// connection that every transaction shares. The queue is per connection (per transaction on
// PostgreSQL), so only appends of the same transaction ever wait behind the advisory lock.
const appendQueues = new WeakMap<object, Promise<unknown>>();

function inAppendQueue<T>(connection: object, append: () => Promise<T>): Promise<T> {
  const previous = appendQueues.get(connection) ?? Promise.resolve();
  const next = previous.then(append);
  appendQueues.set(
    connection,
    next.catch(() => undefined),
  );
  return next;
}

/** The audit log's tables (`audit_events`, `audit_checkpoints`): its SQL and dialect branches. */
@Injectable()
export class AuditRepository {
  constructor(private readonly database: Database) {}

  /** Whether `tx` is a transaction in progress (not the data source's plain manager). */
  inTransaction(tx: Transaction): boolean {
    return this.database.manager(tx).queryRunner?.isTransactionActive === true;
  }

  /**
   * Appends the event `next` builds from the chain's last event (undefined: the log is empty),
   * inside `tx`: two statements, one round trip each. On PostgreSQL the first takes the chain's
   * advisory lock, held until `tx` ends; appends of one transaction run one after the other.
   */
  append(tx: Transaction, next: (last: ChainLink | undefined) => AuditEvent): Promise<void> {
    const manager = this.database.manager(tx);
    const postgres = this.database.dialect === 'postgres';
    return inAppendQueue(manager.queryRunner ?? manager, async () => {
      const {
        rows: [last],
      } = await this.database.run<{ sequence: number | string; hash: string }>(
        postgres ? LOCK_AND_READ_LAST_EVENT : LAST_EVENT,
        postgres ? { key: AUDIT_CHAIN_LOCK_KEY } : {},
        tx,
      );
      const row = next(
        last === undefined ? undefined : { sequence: Number(last.sequence), hash: last.hash },
      );
      await this.database.run(
        INSERT_EVENT,
        { ...row, occurredAt: this.database.columnValue(AuditEvent, 'occurredAt', row.occurredAt) },
        tx,
      );
    });
  }

  /**
   * Runs `work` on one consistent view of the log: on PostgreSQL a REPEATABLE READ transaction
   * (a pruning pass that commits meanwhile cannot look like a gap); on SQLite, whose one
   * connection serialises writes, outside a transaction.
   */
  inSnapshot<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const manager = this.database.manager();
    if (this.database.dialect === 'postgres') {
      return manager.transaction('REPEATABLE READ', (snapshot) => work(snapshot));
    }
    return work(manager);
  }

  /** The newest checkpoint of the pruned prefix, as stored (not checked). */
  async latestCheckpoint(tx?: Transaction): Promise<AuditCheckpoint | null> {
    const {
      rows: [row],
    } = await this.database.run<CheckpointRow>(LATEST_CHECKPOINT, {}, tx);
    if (row === undefined) return null;
    return {
      throughSequence: Number(row.through_sequence),
      throughHash: row.through_hash,
      throughKeyId: row.through_key_id,
      prunedCount: Number(row.pruned_count),
      createdAt: new Date(row.created_at),
      keyId: row.key_id,
      mac: row.mac,
    };
  }

  /** Up to `limit` events after sequence `after`, in chain order. */
  eventsAfter(after: number, limit: number, tx?: Transaction): Promise<AuditEvent[]> {
    return this.database
      .manager(tx)
      .getRepository(AuditEvent)
      .createQueryBuilder('event')
      .where('event.sequence > :after', { after })
      .orderBy('event.sequence', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** The newest event, or null when the log is empty. */
  newest(): Promise<AuditEvent | null> {
    return this.database
      .manager()
      .getRepository(AuditEvent)
      .createQueryBuilder('event')
      .orderBy('event.sequence', 'DESC')
      .limit(1)
      .getOne();
  }

  /** A page of events, newest first. `userId` matches the actor or the subject. */
  async list(filter: AuditEventFilter): Promise<{ items: AuditEvent[]; total: number }> {
    const query = this.database.manager().getRepository(AuditEvent).createQueryBuilder('event');
    if (filter.type !== undefined) query.andWhere('event.type = :type', { type: filter.type });
    if (filter.userId !== undefined) {
      const userId = filter.userId.toLowerCase();
      query.andWhere(
        new Brackets((either) =>
          either
            .where('event.actorId = :userId', { userId })
            .orWhere('event.subjectUserId = :userId', { userId }),
        ),
      );
    }
    if (filter.from !== undefined)
      query.andWhere('event.occurredAt >= :from', { from: filter.from });
    if (filter.to !== undefined) query.andWhere('event.occurredAt <= :to', { to: filter.to });
    const [items, total] = await query
      .orderBy('event.sequence', 'DESC')
      .offset((filter.page - 1) * filter.limit)
      .limit(filter.limit)
      .getManyAndCount();
    return { items, total };
  }

  /** Whether both tables exist (read-only commands run no migrations, so they may not). */
  async hasTables(): Promise<boolean> {
    const [row] = await this.database.query<{ n: number | string }>(
      AUDIT_TABLES[this.database.dialect],
    );
    return Number(row?.n) === 2;
  }
}
