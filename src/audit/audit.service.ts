import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Brackets, DataSource, EntityManager } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { Clock } from '../common/clock/clock';
import { runStatement, type Statement } from '../database/statements';
import type { RequestContext } from '../common/request-context';
import { AuditEvent } from './audit-event.entity';
import type { AuditEventType } from './audit-event-type';
import { auditEventHash, canonicalJson, GENESIS_HASH, withoutSecrets } from './audit-hash';

export interface NewAuditEvent {
  type: AuditEventType;
  /** Who did it; null for the system (CLI) or an anonymous caller (failed login). */
  actorId: string | null;
  /** The account the event is about. */
  subjectUserId: string | null;
  /** Event-specific facts. NEVER passwords, tokens or secrets (see record()). */
  details?: Record<string, unknown>;
}

export type ChainVerification =
  { ok: true; count: number } | { ok: false; count: number; brokenEventId: string; reason: string };

type EventContent = Omit<AuditEvent, 'id' | 'sequence' | 'occurredAt' | 'prevHash' | 'hash'>;

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
  name: 'identity_audit_insert',
  sql: `
    INSERT INTO audit_events (id, sequence, occurred_at, type, actor_id, subject_user_id, ip,
                              user_agent, request_id, details, prev_hash, hash)
    VALUES (:id, :sequence, :occurredAt, :type, :actorId, :subjectUserId, :ip, :userAgent,
            :requestId, :details, :prevHash, :hash)`,
};

const VERIFY_BATCH = 1000;

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

/** Bounded, well-formed text for a varchar column (no NUL, no lone surrogate). */
function bounded(value: string | null, length: number): string | null {
  if (value === null || value === '') return null;
  // eslint-disable-next-line no-control-regex
  return Array.from(value.replace(/\u0000/g, '').replace(/\p{Surrogate}/gu, '\uFFFD'))
    .slice(0, length)
    .join('');
}

/** PostgreSQL hands uuids back in lower case; hashing must see what will be read back. */
function uuidOrNull(value: string | null): string | null {
  return value === null ? null : value.toLowerCase();
}

/** The one place that writes the audit log, and the check that nobody else did. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  private occurredAtColumn?: ColumnMetadata;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** `occurred_at` as TypeORM would write it (the drivers store dates differently). */
  private get occurredAt(): ColumnMetadata {
    this.occurredAtColumn ??= this.dataSource
      .getMetadata(AuditEvent)
      .findColumnWithPropertyName('occurredAt');
    if (this.occurredAtColumn === undefined) throw new Error('no column occurredAt');
    return this.occurredAtColumn;
  }

  /**
   * Appends one event inside the caller's transaction `manager`, so the event commits or rolls
   * back with the change it describes. ip, user agent and request id come from `context`, the
   * request that made the change (NO_REQUEST_CONTEXT outside one).
   *
   * `details` must NEVER contain passwords, tokens (access, refresh, reset) or other secrets:
   * the log is read by admins and kept for years. Log the attempted login name, a session id,
   * a role name; not the credential. As a last line of defence, members whose name matches
   * /password|token|secret/i (ids such as `tokenId` excepted) are dropped at any depth, with a
   * warning naming them.
   *
   * On PostgreSQL this takes a transaction-level advisory lock that every append waits for
   * until the holder commits: call it as the LAST statement of the transaction (after every row
   * lock the transaction takes), so the lock is held for the commit only and cannot deadlock
   * with row locks. Called without a transaction, it opens one of its own.
   */
  async record(
    manager: EntityManager,
    event: NewAuditEvent,
    context: RequestContext,
  ): Promise<void> {
    const content = this.contentOf(event, context);
    if (manager.queryRunner?.isTransactionActive !== true) {
      await manager.transaction((transactional) => this.append(transactional, content));
      return;
    }
    await this.append(manager, content);
  }

  /**
   * Walks the chain in sequence order from the first event and returns the first event that does
   * not fit: its content does not match its hash (edited), its sequence skips (events before it
   * removed), or its prev_hash is not the previous event's hash (an event before it replaced).
   * `count` is the number of intact events before it. Removing the newest events is only
   * visible against a copy of the last hash kept elsewhere.
   */
  async verifyChain(): Promise<ChainVerification> {
    const repository = this.dataSource.getRepository(AuditEvent);
    let previous: { sequence: number; hash: string } = { sequence: 0, hash: GENESIS_HASH };
    let count = 0;
    for (;;) {
      const batch = await repository
        .createQueryBuilder('event')
        .where('event.sequence > :after', { after: previous.sequence })
        .orderBy('event.sequence', 'ASC')
        .limit(VERIFY_BATCH)
        .getMany();
      for (const event of batch) {
        const reason = this.brokenLink(event, previous);
        if (reason !== null) return { ok: false, count, brokenEventId: event.id, reason };
        previous = event;
        count += 1;
      }
      if (batch.length < VERIFY_BATCH) return { ok: true, count };
    }
  }

  /** A page of events, newest first. `userId` matches the actor or the subject. */
  async list(filter: AuditEventFilter): Promise<{ items: AuditEvent[]; total: number }> {
    const query = this.dataSource.getRepository(AuditEvent).createQueryBuilder('event');
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

  /** Everything of the row but its place in the chain, bounded for its columns. */
  private contentOf(event: NewAuditEvent, context: RequestContext): EventContent {
    const dropped: string[] = [];
    const details = canonicalJson(withoutSecrets(event.details ?? {}, dropped));
    if (dropped.length > 0) {
      this.logger.warn(`${event.type}: details ${dropped.join(', ')} left out (possible secrets)`);
    }
    return {
      type: event.type,
      actorId: uuidOrNull(event.actorId),
      subjectUserId: uuidOrNull(event.subjectUserId),
      ip: bounded(context.ip, 64),
      userAgent: bounded(context.userAgent, 512),
      requestId: bounded(context.requestId, 64),
      details,
    };
  }

  private async append(manager: EntityManager, content: EventContent): Promise<void> {
    const postgres = manager.dataSource.driver.options.type === 'postgres';
    await inAppendQueue(manager.queryRunner ?? manager, async () => {
      // On PostgreSQL the lock serialises appends across transactions and instances until
      // this one commits.
      const {
        rows: [last],
      } = await runStatement<{ sequence: number | string; hash: string }>(
        this.dataSource,
        manager,
        postgres ? LOCK_AND_READ_LAST_EVENT : LAST_EVENT,
        postgres ? { key: AUDIT_CHAIN_LOCK_KEY } : {},
      );
      const row: AuditEvent = {
        ...content,
        id: randomUUID(),
        sequence: last === undefined ? 1 : Number(last.sequence) + 1,
        occurredAt: this.clock.now(),
        prevHash: last?.hash ?? GENESIS_HASH,
        hash: '',
      };
      row.hash = auditEventHash(row);
      await runStatement(this.dataSource, manager, INSERT_EVENT, {
        ...row,
        occurredAt: this.dataSource.driver.preparePersistentValue(
          row.occurredAt,
          this.occurredAt,
        ) as unknown,
      });
    });
  }

  private brokenLink(
    event: AuditEvent,
    previous: { sequence: number; hash: string },
  ): string | null {
    if (auditEventHash(event) !== event.hash) {
      return 'the content does not match its hash (the event was altered)';
    }
    if (event.sequence !== previous.sequence + 1) {
      return `sequence ${event.sequence} follows ${previous.sequence} (events are missing)`;
    }
    if (event.prevHash !== previous.hash) {
      return 'prev_hash is not the hash of the previous event (an earlier event was altered or replaced)';
    }
    return null;
  }
}
