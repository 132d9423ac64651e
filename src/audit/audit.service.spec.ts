import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { TestClock } from '../../test/helpers/test-clock';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { loadAppConfig } from '../config/app-config';
import type { Transaction, Transactions } from '../database/database';
import type { AuditEvent } from './audit-event.entity';
import { GENESIS_HASH } from './audit-hash';
import { AuditKeyring } from './audit-key';
import type {
  AuditCheckpoint,
  AuditEventFilter,
  AuditRepository,
  ChainLink,
} from './audit.repository';
import { AuditService, type NewAuditEvent } from './audit.service';

// AuditService at the repository seam: the chain it appends and the verification, against an
// in-memory audit log. The same against both databases: test/audit*.e2e-spec.ts.

type RepositoryApi = { [K in keyof AuditRepository]: AuditRepository[K] };

/** A transaction of the fake Transactions; anything else handed to the service is not one. */
const OPEN = { open: true } as unknown as Transaction;

/** The rows of audit_events and the newest audit_checkpoints row; reads hand out copies. */
class InMemoryAuditLog implements RepositoryApi {
  events: AuditEvent[] = [];
  checkpoint: AuditCheckpoint | null = null;

  inTransaction(tx: Transaction): boolean {
    return tx === OPEN;
  }

  append(tx: Transaction, next: (last: ChainLink | undefined) => AuditEvent): Promise<void> {
    // As on PostgreSQL, the chain's lock exists only inside a transaction.
    if (tx !== OPEN) return Promise.reject(new Error('append outside a transaction'));
    const last = this.events.at(-1);
    const row = next(last && { sequence: last.sequence, hash: last.hash });
    if (this.events.some((event) => event.sequence === row.sequence)) {
      return Promise.reject(new Error('duplicate sequence'));
    }
    this.events.push(structuredClone(row));
    return Promise.resolve();
  }

  inSnapshot<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return work(OPEN);
  }

  latestCheckpoint(): Promise<AuditCheckpoint | null> {
    return Promise.resolve(this.checkpoint && structuredClone(this.checkpoint));
  }

  eventsAfter(after: number, limit: number): Promise<AuditEvent[]> {
    return Promise.resolve(
      this.events
        .filter((event) => event.sequence > after)
        .slice(0, limit)
        .map((event) => structuredClone(event)),
    );
  }

  newest(): Promise<AuditEvent | null> {
    const last = this.events.at(-1);
    return Promise.resolve(last === undefined ? null : structuredClone(last));
  }

  list(filter: AuditEventFilter): Promise<{ items: AuditEvent[]; total: number }> {
    const matching = this.events.filter(
      (event) => filter.type === undefined || event.type === filter.type,
    );
    const start = (filter.page - 1) * filter.limit;
    return Promise.resolve({
      items: [...matching].reverse().slice(start, start + filter.limit),
      total: matching.length,
    });
  }

  hasTables(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** The stored row at `sequence`, to alter as a database writer would. */
  row(sequence: number): AuditEvent {
    const row = this.events.find((event) => event.sequence === sequence);
    assert.ok(row, `no event ${sequence}`);
    return row;
  }
}

const fakeTransactions = {
  run: <T>(work: (tx: Transaction) => Promise<T>) => work(OPEN),
} as unknown as Transactions;

function keyringWith(auditKey: string, previousKeys: string[] = []): AuditKeyring {
  return new AuditKeyring(
    loadAppConfig({
      NODE_ENV: 'test',
      AUDIT_KEY: auditKey,
      AUDIT_PREVIOUS_KEYS: previousKeys.join(','),
    }),
  );
}

const newAuditKey = (): string => randomBytes(32).toString('hex');

function update(subject: string, details: Record<string, unknown> = {}): NewAuditEvent {
  return { type: 'user.updated', actorId: null, subjectUserId: subject, details };
}

describe('AuditService (in-memory audit log)', () => {
  let log: InMemoryAuditLog;
  let clock: TestClock;
  let audit: AuditService;

  before(() => {
    Logger.overrideLogger(false);
  });

  function setUp(key = newAuditKey()): void {
    log = new InMemoryAuditLog();
    clock = new TestClock();
    audit = new AuditService(
      log as unknown as AuditRepository,
      fakeTransactions,
      clock,
      keyringWith(key),
    );
  }

  async function recordSome(count: number): Promise<void> {
    for (let index = 0; index < count; index += 1) {
      await audit.record(OPEN, update(randomUUID(), { index }), NO_REQUEST_CONTEXT);
      clock.advance(1);
    }
  }

  describe('record()', () => {
    it('chains each event to the one before, at the clock time, in lower-case ids', async () => {
      setUp();
      const start = clock.now();
      const subject = randomUUID();
      await audit.record(OPEN, update(subject.toUpperCase()), NO_REQUEST_CONTEXT);
      clock.advance(5);
      await audit.record(OPEN, update(subject), {
        ip: '203.0.113.7',
        userAgent: 'curl/8',
        requestId: 'req-1',
      });

      const [first, second] = log.events;
      assert.ok(first && second);
      assert.equal(first.sequence, 1);
      assert.equal(first.prevHash, GENESIS_HASH);
      assert.equal(first.occurredAt.getTime(), start.getTime());
      assert.equal(first.subjectUserId, subject.toLowerCase());
      assert.equal(second.sequence, 2);
      assert.equal(second.prevHash, first.hash);
      assert.equal(second.occurredAt.getTime(), start.getTime() + 5000);
      assert.deepEqual(
        { ip: second.ip, userAgent: second.userAgent, requestId: second.requestId },
        { ip: '203.0.113.7', userAgent: 'curl/8', requestId: 'req-1' },
      );
      assert.deepEqual(await audit.head(), {
        sequence: 2,
        hash: second.hash,
        occurredAt: second.occurredAt,
      });
    });

    it('stores details as canonical JSON without members named like secrets', async () => {
      setUp();
      await audit.record(
        OPEN,
        update(randomUUID(), {
          via: 'cli',
          password: 'hunter2',
          nested: { refreshToken: 'abc', tokenId: 't-1' },
          attempted: 'alice',
        }),
        NO_REQUEST_CONTEXT,
      );
      assert.equal(
        log.row(1).details,
        '{"attempted":"alice","nested":{"tokenId":"t-1"},"via":"cli"}',
      );
    });

    it('opens a transaction of its own when the caller has none', async () => {
      setUp();
      await audit.record({} as Transaction, update(randomUUID()), NO_REQUEST_CONTEXT);
      assert.equal(log.events.length, 1);
    });
  });

  describe('verifyChain()', () => {
    it('accepts an intact chain and names its head', async () => {
      setUp();
      await recordSome(4);
      const result = await audit.verifyChain();
      assert.equal(result.ok, true);
      assert.ok(result.ok);
      assert.equal(result.count, 4);
      assert.equal(result.legacy, 0);
      assert.equal(result.head?.sequence, 4);
      assert.equal(result.checkpoint, null);
    });

    it('names the first event whose content was edited', async () => {
      setUp();
      await recordSome(4);
      log.row(2).details = '{"index":99}';
      const result = await audit.verifyChain();
      assert.ok(!result.ok);
      assert.equal(result.brokenSequence, 2);
      assert.equal(result.count, 1);
      assert.match(result.reason, /does not match its MAC/);
    });

    it('notices an event removed from the middle', async () => {
      setUp();
      await recordSome(4);
      log.events = log.events.filter((event) => event.sequence !== 3);
      const result = await audit.verifyChain();
      assert.ok(!result.ok);
      assert.equal(result.brokenSequence, 4);
      assert.match(result.reason, /sequence 4 follows 2 \(events are missing\)/);
    });

    it('notices the newest events removed only against a head kept elsewhere', async () => {
      setUp();
      await recordSome(4);
      const head = log.row(4);
      log.events = log.events.slice(0, 2);
      assert.equal((await audit.verifyChain()).ok, true);
      const result = await audit.verifyChain({ sequence: head.sequence, hash: head.hash });
      assert.ok(!result.ok);
      assert.match(result.reason, /ends at sequence 2, before the expected head 4/);
    });

    it('refuses events signed with a key it does not hold', async () => {
      setUp();
      await recordSome(2);
      const other = new AuditService(
        log as unknown as AuditRepository,
        fakeTransactions,
        clock,
        keyringWith(newAuditKey()),
      );
      await other.record(OPEN, update(randomUUID()), NO_REQUEST_CONTEXT);
      const result = await audit.verifyChain();
      assert.ok(!result.ok);
      assert.equal(result.brokenSequence, 3);
      assert.match(result.reason, /neither AUDIT_KEY nor in AUDIT_PREVIOUS_KEYS/);
    });

    it('starts from a signed checkpoint, and refuses one that was altered', async () => {
      setUp();
      await recordSome(5);
      const through = log.row(3);
      log.events = log.events.filter((event) => event.sequence > 3);
      log.checkpoint = audit.signCheckpoint({
        throughSequence: 3,
        throughHash: through.hash,
        throughKeyId: through.keyId,
        prunedCount: 3,
        createdAt: clock.now(),
      });
      const result = await audit.verifyChain();
      assert.ok(result.ok);
      assert.equal(result.count, 2);
      assert.deepEqual(result.checkpoint, { throughSequence: 3, prunedCount: 3 });

      log.checkpoint = { ...log.checkpoint, prunedCount: 1 };
      const forged = await audit.verifyChain();
      assert.ok(!forged.ok);
      assert.match(forged.reason, /checkpoint does not match its MAC/);
    });
  });
});
