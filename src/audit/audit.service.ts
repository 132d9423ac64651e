import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock/clock';
import type { RequestContext } from '../common/request-context';
import { Transactions, type Transaction } from '../database/database';
import { AuditEvent } from './audit-event.entity';
import type { AuditEventType } from './audit-event-type';
import {
  auditEventHash,
  auditEventMac,
  canonicalJson,
  checkpointMac,
  GENESIS_HASH,
  sameMac,
  withoutSecrets,
} from './audit-hash';
import { AuditKeyring } from './audit-key';
import {
  type AuditCheckpoint,
  type AuditEventFilter,
  AuditRepository,
  type ChainLink,
} from './audit.repository';
import { cleanDetails, clientText } from '../common/client-text';

export type { AuditCheckpoint, AuditEventFilter } from './audit.repository';

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

type EventContent = Omit<
  AuditEvent,
  'id' | 'sequence' | 'occurredAt' | 'prevHash' | 'hash' | 'keyId'
>;

const VERIFY_BATCH = 1000;

/** PostgreSQL hands uuids back in lower case; hashing must see what will be read back. */
function uuidOrNull(value: string | null): string | null {
  return value === null ? null : value.toLowerCase();
}

/** The one place that writes the audit log, and the check that nobody else did. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    private readonly events: AuditRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly keyring: AuditKeyring,
  ) {}

  /**
   * Appends one event inside `tx`, so it commits or rolls back with the change it describes
   * (without a transaction it opens one). `details` must never hold passwords, tokens or secrets;
   * members named like /password|token|secret/i (ids such as `tokenId` excepted) are dropped at
   * any depth, with a warning. Call it as the LAST statement of the transaction: on PostgreSQL it
   * holds the chain's lock until commit (docs/decisions.md, "Serialised appends").
   */
  async record(tx: Transaction, event: NewAuditEvent, context: RequestContext): Promise<void> {
    const content = this.contentOf(event, context);
    if (!this.events.inTransaction(tx)) {
      await this.transactions.run((own) => this.append(own, content), tx);
      return;
    }
    await this.append(tx, content);
  }

  /**
   * Walks the chain from the signed checkpoint (or the first event) and returns the first event
   * that does not fit (its MAC, a sequence gap, its prev_hash) and the intact count before it.
   * Removed newest events show only against a head kept elsewhere, passed as `expected`
   * (docs/decisions.md, "Keyed audit chain").
   */
  verifyChain(expected?: ExpectedHead): Promise<ChainVerification> {
    // One snapshot, so a pruning pass that commits meanwhile cannot look like a gap.
    return this.events.inSnapshot((tx) => this.verifyWith(tx, expected));
  }

  /** The newest event: its sequence and hash are what `audit:verify --head` checks later. */
  async head(): Promise<ChainHead | null> {
    const last = await this.events.newest();
    return last === null
      ? null
      : { sequence: last.sequence, hash: last.hash, occurredAt: last.occurredAt };
  }

  /** The newest checkpoint of the pruned prefix, as stored (not checked). */
  latestCheckpoint(tx?: Transaction): Promise<AuditCheckpoint | null> {
    return this.events.latestCheckpoint(tx);
  }

  /** Whether the database has the audit log's tables (commands that run no migrations ask). */
  hasTables(): Promise<boolean> {
    return this.events.hasTables();
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
    tx: Transaction,
    expected: ExpectedHead | undefined,
  ): Promise<ChainVerification> {
    const failure = (reason: string, count: number, event?: AuditEvent): ChainVerification => ({
      ok: false,
      count,
      brokenEventId: event?.id ?? null,
      brokenSequence: event?.sequence ?? null,
      reason,
    });
    const checkpoint = await this.events.latestCheckpoint(tx);
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
      const batch = await this.events.eventsAfter(previous.sequence, VERIFY_BATCH, tx);
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
  list(filter: AuditEventFilter): Promise<{ items: AuditEvent[]; total: number }> {
    return this.events.list(filter);
  }

  /** Everything of the row but its place in the chain, bounded for its columns. */
  private contentOf(event: NewAuditEvent, context: RequestContext): EventContent {
    const dropped: string[] = [];
    const details = canonicalJson(cleanDetails(withoutSecrets(event.details ?? {}, dropped)));
    if (dropped.length > 0) {
      this.logger.warn(
        `${event.type}: details ${dropped.join(', ')} left out (possible secrets)`,
        context.requestId === null ? {} : { requestId: context.requestId },
      );
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

  private append(tx: Transaction, content: EventContent): Promise<void> {
    // On PostgreSQL the repository's lock serialises appends across transactions and instances
    // until this one commits.
    return this.events.append(tx, (last) => {
      const row: AuditEvent = {
        ...content,
        id: randomUUID(),
        sequence: last === undefined ? 1 : last.sequence + 1,
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
      return row;
    });
  }
}
