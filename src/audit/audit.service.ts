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
import {
  auditEventHash,
  auditEventMac,
  canonicalJson,
  type CheckpointFields,
  checkpointMac,
  GENESIS_HASH,
  sameMac,
  withoutSecrets,
} from './audit-hash';
import { AuditKeyring } from './audit-key';
import { cleanDetails, clientText } from '../common/client-text';

export interface NewAuditEvent {
  type: AuditEventType;
  /** Who did it; null for the system (CLI) or an anonymous caller (failed login). */
  actorId: string | null;
  /** The account the event is about. */
  subjectUserId: string | null;
  /** Event-specific facts. NEVER passwords, tokens or secrets (see record()). */
  details?: Record<string, unknown>;
}

/** The newest event of the chain: what to keep outside the database (`audit:head`). */
export interface ChainHead {
  sequence: number;
  hash: string;
  occurredAt: Date;
}

export type ChainVerification =
  | {
      ok: true;
      /** Events checked (after the checkpoint, if any). */
      count: number;
      /** Of them, events from before keyed chaining (plain SHA-256). */
      legacy: number;
      head: ChainHead | null;
      /** The signed checkpoint the walk started from, if events were pruned. */
      checkpoint: { throughSequence: number; prunedCount: number } | null;
    }
  | {
      ok: false;
      count: number;
      /** The first event that does not fit; null when the checkpoint or the expected head fails. */
      brokenEventId: string | null;
      brokenSequence: number | null;
      reason: string;
    };

/** A head kept elsewhere, which the chain must still contain unchanged. */
export interface ExpectedHead {
  sequence: number;
  hash: string;
}

/** The signed statement that events 1..throughSequence were pruned. */
export type AuditCheckpoint = CheckpointFields & { mac: string };

type EventContent = Omit<
  AuditEvent,
  'id' | 'sequence' | 'occurredAt' | 'prevHash' | 'hash' | 'keyId'
>;

interface ChainLink {
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

interface CheckpointRow {
  through_sequence: number | string;
  through_hash: string;
  through_key_id: string | null;
  pruned_count: number | string;
  created_at: Date | string;
  key_id: string;
  mac: string;
}

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
    private readonly keyring: AuditKeyring,
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
   * Walks the chain in sequence order from the signed checkpoint (or the first event) and
   * returns the first event that does not fit: its MAC does not match its content under the key
   * it names (edited, or a wrong AUDIT_KEY), its sequence skips (events before it removed), or
   * its prev_hash is not the previous event's hash (an event before it replaced). `count` is the
   * number of intact events before it. Removing the newest events is visible only against a
   * head kept elsewhere: pass it as `expected`, and the event at its sequence must still be
   * there with that hash.
   */
  async verifyChain(expected?: ExpectedHead): Promise<ChainVerification> {
    // PostgreSQL: one snapshot, so a pruning pass that commits meanwhile cannot look like a gap.
    if (this.dataSource.options.type === 'postgres') {
      return this.dataSource.transaction('REPEATABLE READ', (manager) =>
        this.verifyWith(manager, expected),
      );
    }
    return this.verifyWith(this.dataSource.manager, expected);
  }

  /** The newest event: its sequence and hash are what `audit:verify --head` checks later. */
  async head(): Promise<ChainHead | null> {
    const last = await this.dataSource
      .getRepository(AuditEvent)
      .createQueryBuilder('event')
      .orderBy('event.sequence', 'DESC')
      .limit(1)
      .getOne();
    return last === null
      ? null
      : { sequence: last.sequence, hash: last.hash, occurredAt: last.occurredAt };
  }

  /** The newest checkpoint of the pruned prefix, as stored (not checked). */
  async latestCheckpoint(manager: EntityManager): Promise<AuditCheckpoint | null> {
    const {
      rows: [row],
    } = await runStatement<CheckpointRow>(this.dataSource, manager, LATEST_CHECKPOINT, {});
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

  /** A checkpoint signed with the current key. */
  signCheckpoint(fields: Omit<AuditCheckpoint, 'keyId' | 'mac'>): AuditCheckpoint {
    const { id, key } = this.keyring.current;
    const unsigned = { ...fields, keyId: id };
    return { ...unsigned, mac: checkpointMac(key, unsigned) };
  }

  /**
   * Why `event` does not continue the chain after `previous`, or null if it does. `keyedSeen`:
   * a keyed event came before, so an unkeyed one now can only be a rewrite without the key.
   */
  brokenLink(event: AuditEvent, previous: ChainLink, keyedSeen: boolean): string | null {
    if (event.keyId === null) {
      if (keyedSeen) {
        return 'an unkeyed event follows keyed ones (the chain was rewritten without the key)';
      }
      if (auditEventHash(event) !== event.hash) {
        return 'the content does not match its hash (the event was altered)';
      }
    } else {
      const key = this.keyring.find(event.keyId);
      if (key === undefined) {
        return (
          `the event is signed with audit key ${event.keyId}, which is neither AUDIT_KEY nor ` +
          'in AUDIT_PREVIOUS_KEYS (wrong key, or the event was forged)'
        );
      }
      if (!sameMac(auditEventMac(key.key, { ...event, keyId: event.keyId }), event.hash)) {
        return 'the content does not match its MAC (the event was altered)';
      }
    }
    if (event.sequence !== previous.sequence + 1) {
      return `sequence ${event.sequence} follows ${previous.sequence} (events are missing)`;
    }
    if (event.prevHash !== previous.hash) {
      return 'prev_hash is not the hash of the previous event (an earlier event was altered or replaced)';
    }
    return null;
  }

  /** Checks a stored checkpoint's signature; null when it holds. */
  checkpointProblem(checkpoint: AuditCheckpoint): string | null {
    const key = this.keyring.find(checkpoint.keyId);
    if (key === undefined) {
      return `the retention checkpoint is signed with unknown audit key ${checkpoint.keyId}`;
    }
    if (!sameMac(checkpointMac(key.key, checkpoint), checkpoint.mac)) {
      return 'the retention checkpoint does not match its MAC (it was altered or forged)';
    }
    return null;
  }

  private async verifyWith(
    manager: EntityManager,
    expected: ExpectedHead | undefined,
  ): Promise<ChainVerification> {
    const failure = (reason: string, count: number, event?: AuditEvent): ChainVerification => ({
      ok: false,
      count,
      brokenEventId: event?.id ?? null,
      brokenSequence: event?.sequence ?? null,
      reason,
    });
    const checkpoint = await this.latestCheckpoint(manager);
    if (checkpoint !== null) {
      const problem = this.checkpointProblem(checkpoint);
      if (problem !== null) return failure(problem, 0);
    }
    let previous: ChainLink =
      checkpoint === null
        ? { sequence: 0, hash: GENESIS_HASH }
        : { sequence: checkpoint.throughSequence, hash: checkpoint.throughHash };
    if (expected !== undefined && checkpoint !== null) {
      if (expected.sequence < checkpoint.throughSequence) {
        return failure(
          `the expected head ${expected.sequence} was pruned (the checkpoint is at ` +
            `${checkpoint.throughSequence}): check against a newer head`,
          0,
        );
      }
      if (expected.sequence === checkpoint.throughSequence && expected.hash !== previous.hash) {
        return failure(`the event at sequence ${expected.sequence} is not the expected head`, 0);
      }
    }
    let count = 0;
    let legacy = 0;
    let keyedSeen = checkpoint !== null && checkpoint.throughKeyId !== null;
    let last: AuditEvent | undefined;
    for (;;) {
      const batch = await manager
        .getRepository(AuditEvent)
        .createQueryBuilder('event')
        .where('event.sequence > :after', { after: previous.sequence })
        .orderBy('event.sequence', 'ASC')
        .limit(VERIFY_BATCH)
        .getMany();
      for (const event of batch) {
        const reason = this.brokenLink(event, previous, keyedSeen);
        if (reason !== null) return failure(reason, count, event);
        if (expected?.sequence === event.sequence && !sameMac(expected.hash, event.hash)) {
          return failure(
            `the event at sequence ${event.sequence} is not the expected head (history was rewritten)`,
            count,
            event,
          );
        }
        if (event.keyId === null) legacy += 1;
        else keyedSeen = true;
        previous = event;
        last = event;
        count += 1;
      }
      if (batch.length < VERIFY_BATCH) break;
    }
    const headSequence = last?.sequence ?? checkpoint?.throughSequence ?? 0;
    if (expected !== undefined && expected.sequence > headSequence) {
      return failure(
        `the chain ends at sequence ${headSequence}, before the expected head ` +
          `${expected.sequence} (the newest events were removed)`,
        count,
      );
    }
    return {
      ok: true,
      count,
      legacy,
      head:
        last === undefined
          ? null
          : { sequence: last.sequence, hash: last.hash, occurredAt: last.occurredAt },
      checkpoint:
        checkpoint === null
          ? null
          : { throughSequence: checkpoint.throughSequence, prunedCount: checkpoint.prunedCount },
    };
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
    const details = canonicalJson(cleanDetails(withoutSecrets(event.details ?? {}, dropped)));
    if (dropped.length > 0) {
      this.logger.warn(`${event.type}: details ${dropped.join(', ')} left out (possible secrets)`);
    }
    return {
      type: event.type,
      actorId: uuidOrNull(event.actorId),
      subjectUserId: uuidOrNull(event.subjectUserId),
      ip: clientText(context.ip, 64),
      userAgent: clientText(context.userAgent, 512),
      requestId: clientText(context.requestId, 64),
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
        keyId: this.keyring.current.id,
      };
      // One HMAC per append: the key never leaves this process.
      row.hash = auditEventMac(this.keyring.current.key, {
        ...row,
        keyId: this.keyring.current.id,
      });
      await runStatement(this.dataSource, manager, INSERT_EVENT, {
        ...row,
        occurredAt: this.dataSource.driver.preparePersistentValue(
          row.occurredAt,
          this.occurredAt,
        ) as unknown,
      });
    });
  }
}
