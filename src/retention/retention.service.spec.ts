import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { TestClock } from '../../test/helpers/test-clock';
import type { AuditEvent } from '../audit/audit-event.entity';
import { AuditKeyring } from '../audit/audit-key';
import type { AuditCheckpoint, AuditRepository, ChainLink } from '../audit/audit.repository';
import { AuditService } from '../audit/audit.service';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { loadAppConfig } from '../config/app-config';
import type { Transaction, Transactions } from '../database/database';
import type { RetentionRepository } from './retention.repository';
import { RetentionService } from './retention.service';

// RetentionService at the repository seam: what one pass deletes at a given clock time, and the
// checkpoint that replaces pruned audit events, against in-memory tables. The same against both
// databases, with several instances: test/retention.e2e-spec.ts.

const DAY = 86_400;
const GRACE_SECONDS = 10;

interface StoredSession {
  id: string;
  revokedAt: Date | null;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
}

interface StoredToken {
  id: string;
  sessionId: string;
  rotatedAt: Date | null;
}

interface StoredMail {
  id: string;
  status: 'pending' | 'sending' | 'sent' | 'failed';
  finishedAt: Date | null;
}

interface StoredAccountToken {
  id: string;
  expiresAt: Date;
  usedAt: Date | null;
}

/** The tables a pass reads and deletes from; the audit log is shared with AuditService. */
class Tables {
  sessions: StoredSession[] = [];
  tokens: StoredToken[] = [];
  mails: StoredMail[] = [];
  accountTokens: StoredAccountToken[] = [];
  events: AuditEvent[] = [];
  checkpoint: AuditCheckpoint | null = null;
  /** Another instance holds the pruning lock. */
  lockedElsewhere = false;
}

type RetentionApi = { [K in keyof RetentionRepository]: RetentionRepository[K] };

class InMemoryRetention implements RetentionApi {
  constructor(private readonly tables: Tables) {}

  inTurn<T>(pass: () => Promise<T>): Promise<T> {
    return pass();
  }

  tryPruningLock(): Promise<boolean> {
    return Promise.resolve(!this.tables.lockedElsewhere);
  }

  deleteDeadSessions(
    _tx: Transaction,
    cutoff: Date,
    batch: number,
  ): Promise<{ sessions: number; refreshTokens: number }> {
    const before = (date: Date | null) => date !== null && date < cutoff;
    const dead = new Set(
      this.tables.sessions
        .filter(
          (s) => before(s.revokedAt) || before(s.idleExpiresAt) || before(s.absoluteExpiresAt),
        )
        .map((session) => session.id)
        .sort()
        .slice(0, batch),
    );
    const tokens = this.tables.tokens.length;
    this.tables.tokens = this.tables.tokens.filter((token) => !dead.has(token.sessionId));
    this.tables.sessions = this.tables.sessions.filter((session) => !dead.has(session.id));
    return Promise.resolve({
      sessions: dead.size,
      refreshTokens: tokens - this.tables.tokens.length,
    });
  }

  deleteRotatedTokens(_tx: Transaction, cutoff: Date, batch: number): Promise<number> {
    const rotated = new Set(
      this.tables.tokens
        .filter((token) => token.rotatedAt !== null && token.rotatedAt < cutoff)
        .map((token) => token.id)
        .sort()
        .slice(0, batch),
    );
    this.tables.tokens = this.tables.tokens.filter((token) => !rotated.has(token.id));
    return Promise.resolve(rotated.size);
  }

  deleteFinishedMails(_tx: Transaction, cutoff: Date, batch: number): Promise<number> {
    const finished = new Set(
      this.tables.mails
        .filter(
          (mail) =>
            (mail.status === 'sent' || mail.status === 'failed') &&
            mail.finishedAt !== null &&
            mail.finishedAt < cutoff,
        )
        .map((mail) => mail.id)
        .sort()
        .slice(0, batch),
    );
    this.tables.mails = this.tables.mails.filter((mail) => !finished.has(mail.id));
    return Promise.resolve(finished.size);
  }

  deleteSpentAccountTokens(_tx: Transaction, cutoff: Date, batch: number): Promise<number> {
    const spent = new Set(
      this.tables.accountTokens
        .filter(
          (token) => (token.usedAt !== null && token.usedAt < cutoff) || token.expiresAt < cutoff,
        )
        .map((token) => token.id)
        .sort()
        .slice(0, batch),
    );
    this.tables.accountTokens = this.tables.accountTokens.filter((token) => !spent.has(token.id));
    return Promise.resolve(spent.size);
  }

  deleteSpentMfaChallenges(): Promise<number> {
    return Promise.resolve(0);
  }

  deleteExpiredOidcModels(): Promise<number> {
    return Promise.resolve(0);
  }

  lockAuditLog(): Promise<void> {
    return Promise.resolve();
  }

  lastAuditSequence(): Promise<number> {
    return Promise.resolve(this.tables.events.at(-1)?.sequence ?? 0);
  }

  auditEventsBetween(
    _tx: Transaction,
    after: number,
    before: number,
    limit: number,
  ): Promise<AuditEvent[]> {
    return Promise.resolve(
      this.tables.events
        .filter((event) => event.sequence > after && event.sequence < before)
        .slice(0, limit)
        .map((event) => structuredClone(event)),
    );
  }

  deleteAuditEvents(_tx: Transaction, after: number, through: number): Promise<number> {
    const count = this.tables.events.length;
    this.tables.events = this.tables.events.filter(
      (event) => event.sequence <= after || event.sequence > through,
    );
    return Promise.resolve(count - this.tables.events.length);
  }

  replaceCheckpoint(_tx: Transaction, checkpoint: AuditCheckpoint): Promise<void> {
    this.tables.checkpoint = structuredClone(checkpoint);
    return Promise.resolve();
  }
}

/** The part of AuditRepository that AuditService uses for appends, checkpoints and verification. */
class InMemoryAuditLog {
  constructor(private readonly tables: Tables) {}

  inTransaction(): boolean {
    return true;
  }

  append(_tx: Transaction, next: (last: ChainLink | undefined) => AuditEvent): Promise<void> {
    const last = this.tables.events.at(-1);
    this.tables.events.push(
      structuredClone(next(last && { sequence: last.sequence, hash: last.hash })),
    );
    return Promise.resolve();
  }

  inSnapshot<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return work({} as Transaction);
  }

  latestCheckpoint(): Promise<AuditCheckpoint | null> {
    return Promise.resolve(this.tables.checkpoint && structuredClone(this.tables.checkpoint));
  }

  eventsAfter(after: number, limit: number): Promise<AuditEvent[]> {
    return Promise.resolve(
      this.tables.events
        .filter((event) => event.sequence > after)
        .slice(0, limit)
        .map((event) => structuredClone(event)),
    );
  }
}

const transactions = {
  run: <T>(work: (tx: Transaction) => Promise<T>) => work({} as Transaction),
} as unknown as Transactions;

describe('RetentionService (in-memory tables)', () => {
  let tables: Tables;
  let clock: TestClock;
  let audit: AuditService;
  let retention: RetentionService;
  /** The time of the pass; rows are placed relative to it. */
  let now: Date;

  before(() => {
    Logger.overrideLogger(false);
  });

  function setUp(): void {
    const config = loadAppConfig({
      NODE_ENV: 'test',
      AUDIT_KEY: randomBytes(32).toString('hex'),
      SESSION_RETENTION_DAYS: '30',
      AUDIT_RETENTION_DAYS: '365',
      REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS),
      RETENTION_INTERVAL_SECONDS: '0',
      MAIL_RETENTION_DAYS: '7',
    });
    tables = new Tables();
    clock = new TestClock();
    clock.set(new Date('2026-06-01T12:00:00.000Z'));
    now = clock.now();
    audit = new AuditService(
      new InMemoryAuditLog(tables) as unknown as AuditRepository,
      transactions,
      clock,
      new AuditKeyring(config),
    );
    retention = new RetentionService(
      new InMemoryRetention(tables) as unknown as RetentionRepository,
      transactions,
      clock,
      config,
      audit,
    );
  }

  const ago = (seconds: number): Date => new Date(now.getTime() - seconds * 1000);

  function session(revokedAt: Date | null, idleExpiresAt: Date, absoluteExpiresAt?: Date): string {
    const id = randomUUID();
    tables.sessions.push({
      id,
      revokedAt,
      idleExpiresAt,
      absoluteExpiresAt: absoluteExpiresAt ?? new Date(idleExpiresAt.getTime() + 20 * DAY * 1000),
    });
    return id;
  }

  function token(sessionId: string, rotatedAt: Date | null): string {
    const id = randomUUID();
    tables.tokens.push({ id, sessionId, rotatedAt });
    return id;
  }

  /** Records events `secondsAgo` before the pass, one second apart, then returns to the pass time. */
  async function eventsAt(secondsAgo: number, count: number): Promise<void> {
    clock.set(ago(secondsAgo));
    for (let index = 0; index < count; index += 1) {
      await audit.record(
        {} as Transaction,
        { type: 'user.updated', actorId: null, subjectUserId: randomUUID(), details: { index } },
        NO_REQUEST_CONTEXT,
      );
      clock.advance(1);
    }
    clock.set(now);
  }

  it('deletes sessions dead for longer than the retention, with their tokens, and keeps the rest', async () => {
    setUp();
    const revokedLongAgo = session(ago(31 * DAY), ago(-DAY));
    const idleLongAgo = session(null, ago(31 * DAY));
    const absoluteLongAgo = session(null, ago(-DAY), ago(30 * DAY + 1));
    const revokedRecently = session(ago(29 * DAY), ago(-DAY));
    const live = session(null, ago(-DAY));
    for (const id of [revokedLongAgo, idleLongAgo, absoluteLongAgo]) token(id, null);
    const kept = [token(revokedRecently, null), token(live, null)];

    const result = await retention.prune();

    assert.deepEqual(tables.sessions.map((row) => row.id).sort(), [revokedRecently, live].sort());
    assert.deepEqual(
      tables.tokens.map((row) => row.id),
      kept,
    );
    assert.deepEqual([result.sessions, result.refreshTokens], [3, 3]);
  });

  it('keeps a rotated token for the reuse grace window plus the retention after its rotation', async () => {
    setUp();
    const live = session(null, ago(-DAY));
    const justKept = token(live, ago(30 * DAY + GRACE_SECONDS - 1));
    token(live, ago(30 * DAY + GRACE_SECONDS + 1));
    const current = token(live, null);

    const result = await retention.prune();

    assert.deepEqual(
      tables.tokens.map((kept) => kept.id),
      [justKept, current],
    );
    assert.equal(result.refreshTokens, 1);
  });

  it('deletes finished mails and spent or expired account tokens past MAIL_RETENTION_DAYS, and keeps the rest', async () => {
    setUp();
    const mail = (status: StoredMail['status'], finishedAt: Date | null): string => {
      const id = randomUUID();
      tables.mails.push({ id, status, finishedAt });
      return id;
    };
    const accountToken = (expiresAt: Date, usedAt: Date | null): string => {
      const id = randomUUID();
      tables.accountTokens.push({ id, expiresAt, usedAt });
      return id;
    };
    mail('sent', ago(8 * DAY));
    mail('failed', ago(7 * DAY + 1));
    const keptMails = [
      mail('sent', ago(6 * DAY)),
      mail('failed', ago(7 * DAY - 1)),
      // Not finished, however old: still to be delivered.
      mail('pending', null),
      mail('sending', null),
    ];
    accountToken(ago(8 * DAY), null);
    accountToken(ago(-DAY), ago(8 * DAY));
    const keptTokens = [
      accountToken(ago(-DAY), null),
      accountToken(ago(6 * DAY), null),
      accountToken(ago(-DAY), ago(6 * DAY)),
    ];

    const result = await retention.prune();

    assert.deepEqual([result.mails, result.accountTokens], [2, 2]);
    assert.deepEqual(
      tables.mails.map((row) => row.id),
      keptMails,
    );
    assert.deepEqual(
      tables.accountTokens.map((row) => row.id),
      keptTokens,
    );
    const pass = tables.events.at(-1);
    assert.equal(pass?.type, 'retention.pruned');
    const details = JSON.parse(pass?.details ?? '{}') as Record<string, unknown>;
    assert.deepEqual([details.mails, details.accountRecords, details.mailRetentionDays], [2, 2, 7]);
  });

  it('replaces audit events past retention with a signed checkpoint; the rest of the chain verifies', async () => {
    setUp();
    await eventsAt(400 * DAY, 3);
    await eventsAt(10 * DAY, 2);
    const lastPruned = tables.events[2];
    assert.ok(lastPruned);

    const result = await retention.prune();

    assert.equal(result.auditEvents, 3);
    assert.equal(result.auditCheckpoint, 3);
    assert.equal(result.auditProblem, null);
    const checkpoint = tables.checkpoint;
    assert.ok(checkpoint);
    assert.deepEqual(
      {
        throughSequence: checkpoint.throughSequence,
        throughHash: checkpoint.throughHash,
        prunedCount: checkpoint.prunedCount,
        createdAt: checkpoint.createdAt.toISOString(),
      },
      {
        throughSequence: 3,
        throughHash: lastPruned.hash,
        prunedCount: 3,
        createdAt: now.toISOString(),
      },
    );
    assert.equal(audit.checkpointProblem(checkpoint), null);
    // The kept events and the pass's own event, chained on from the checkpoint.
    assert.deepEqual(
      tables.events.map((event) => [event.sequence, event.type]),
      [
        [4, 'user.updated'],
        [5, 'user.updated'],
        [6, 'retention.pruned'],
      ],
    );
    assert.equal(
      tables.events[2]?.details,
      JSON.stringify({
        accountRecords: 0,
        auditCheckpoint: 3,
        auditEvents: 3,
        auditRetentionDays: 365,
        mailRetentionDays: 7,
        mails: 0,
        mfaChallenges: 0,
        oidcRecords: 0,
        refreshRecords: 0,
        sessionRetentionDays: 30,
        sessions: 0,
      }),
    );
    const verified = await audit.verifyChain();
    assert.ok(verified.ok);
    assert.deepEqual(verified.checkpoint, { throughSequence: 3, prunedCount: 3 });
  });

  it('never prunes the newest event, and counts what later passes prune on top', async () => {
    setUp();
    await eventsAt(400 * DAY, 3);

    const first = await retention.prune();
    assert.equal(first.auditEvents, 2);
    assert.deepEqual(
      tables.events.map((event) => event.sequence),
      [3, 4],
    );

    // A year on, both are past retention; the newest (the first pass's own event) still stays.
    clock.advance(366 * DAY);
    now = clock.now();
    const second = await retention.prune();
    assert.equal(second.auditEvents, 1);
    assert.deepEqual(
      tables.events.map((event) => event.sequence),
      [4, 5],
    );
    assert.equal(tables.checkpoint?.throughSequence, 3);
    assert.equal(tables.checkpoint?.prunedCount, 3);
    assert.ok((await audit.verifyChain()).ok);
  });

  it('prunes nothing of an altered chain, says where, and records no pass', async () => {
    setUp();
    await eventsAt(400 * DAY, 4);
    const altered = tables.events[1];
    assert.ok(altered);
    altered.details = '{"index":99}';

    const result = await retention.prune();

    assert.match(result.auditProblem ?? '', /\(sequence 2\): the content does not match its MAC/);
    assert.equal(result.auditEvents, 0);
    assert.equal(tables.checkpoint, null);
    assert.equal(tables.events.length, 4);
  });

  it('stops as skipped while another instance holds the pruning lock', async () => {
    setUp();
    session(ago(31 * DAY), ago(-DAY));
    await eventsAt(400 * DAY, 3);
    tables.lockedElsewhere = true;

    const result = await retention.prune();

    assert.equal(result.skipped, true);
    assert.equal(result.sessions, 0);
    assert.equal(tables.sessions.length, 1);
    assert.equal(tables.events.length, 3);
  });
});
