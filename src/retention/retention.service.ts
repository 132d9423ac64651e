import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { Transactions, type Transaction } from '../database/database';
import { RetentionRepository } from './retention.repository';

/** What one pass deleted. `skipped`: another instance held the pruning lock. */
export interface PruneResult {
  sessions: number;
  refreshTokens: number;
  /** Outbox mails sent or given up more than MAIL_RETENTION_DAYS ago. */
  mails: number;
  /** Mailed tokens (verification, reset, email change) used or expired that long ago. */
  accountTokens: number;
  /** Second-factor challenges (mfa_token, WebAuthn) spent or expired that long ago. */
  mfaChallenges: number;
  /** What the OpenID Provider stored (codes, tokens, sessions, grants), once expired. */
  oidcModels: number;
  auditEvents: number;
  /** The sequence the audit checkpoint now covers, when audit events were pruned. */
  auditCheckpoint: number | null;
  skipped: boolean;
  /** Set when the chain did not verify where it was to be pruned: nothing of it was deleted. */
  auditProblem: string | null;
}

const ROW_BATCH = 500;
const AUDIT_BATCH = 1000;
const DAY_MS = 86_400_000;

/** A batch's outcome: rows deleted, or the pruning lock was held elsewhere. */
type Batch = number | 'locked';

/**
 * SPEC §12: deletes, in bounded batches each in its own transaction, sessions dead (revoked or
 * expired) for more than SESSION_RETENTION_DAYS with their refresh tokens, rotated refresh tokens
 * once past the reuse grace window plus that retention, outbox mails finished and mailed account
 * tokens and second-factor challenges used or expired more than MAIL_RETENTION_DAYS ago, and audit events older than
 * AUDIT_RETENTION_DAYS, which a signed checkpoint replaces so the rest of the chain verifies.
 * Every instance schedules it; one prunes at a time, and a pass is idempotent anyway.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionService.name);

  private timer: NodeJS.Timeout | undefined;

  private running: Promise<PruneResult> | undefined;

  constructor(
    private readonly retention: RetentionRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.retention.intervalSeconds;
    if (seconds === 0) return;
    this.timer = setInterval(() => void this.scheduledPass(), seconds * 1000);
    // The job never keeps the process alive on its own.
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Let a pass in progress finish before the database closes.
    await this.running?.catch(() => undefined);
  }

  /** One pass over everything; concurrent calls in one instance share the pass. */
  prune(): Promise<PruneResult> {
    this.running ??= this.retention
      .inTurn(() => this.pass())
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async scheduledPass(): Promise<void> {
    try {
      await this.prune();
    } catch (error) {
      // A failed pass is retried at the next tick; it must not take the service down.
      this.logger.error(
        `Retention pass failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async pass(): Promise<PruneResult> {
    const now = this.clock.now();
    const { sessionDays, auditDays } = this.config.retention;
    const sessionCutoff = new Date(now.getTime() - sessionDays * DAY_MS);
    // A rotated token answers "reused" (and revokes its session) for the grace window plus
    // the session retention after its rotation; then it is only an unknown token.
    const tokenCutoff = new Date(
      sessionCutoff.getTime() - this.config.refresh.reuseGraceSeconds * 1000,
    );
    const auditCutoff = new Date(now.getTime() - auditDays * DAY_MS);
    const mailDays = this.config.mail.retentionDays;
    const mailCutoff = new Date(now.getTime() - mailDays * DAY_MS);
    const result: PruneResult = {
      sessions: 0,
      refreshTokens: 0,
      mails: 0,
      accountTokens: 0,
      mfaChallenges: 0,
      oidcModels: 0,
      auditEvents: 0,
      auditCheckpoint: null,
      skipped: false,
      auditProblem: null,
    };

    // Each step repeats while its batches come back full.
    const steps: Array<{ full: number; batch: (tx: Transaction) => Promise<number> }> = [
      {
        full: ROW_BATCH,
        batch: async (tx) => {
          const deleted = await this.retention.deleteDeadSessions(tx, sessionCutoff, ROW_BATCH);
          result.refreshTokens += deleted.refreshTokens;
          result.sessions += deleted.sessions;
          return deleted.sessions;
        },
      },
      {
        full: ROW_BATCH,
        batch: async (tx) => {
          const tokens = await this.retention.deleteRotatedTokens(tx, tokenCutoff, ROW_BATCH);
          result.refreshTokens += tokens;
          return tokens;
        },
      },
      {
        full: ROW_BATCH,
        batch: async (tx) => {
          const mails = await this.retention.deleteFinishedMails(tx, mailCutoff, ROW_BATCH);
          result.mails += mails;
          return mails;
        },
      },
      {
        full: ROW_BATCH,
        batch: async (tx) => {
          const tokens = await this.retention.deleteSpentAccountTokens(tx, mailCutoff, ROW_BATCH);
          result.accountTokens += tokens;
          return tokens;
        },
      },
      {
        full: ROW_BATCH,
        batch: async (tx) => {
          const challenges = await this.retention.deleteSpentMfaChallenges(
            tx,
            mailCutoff,
            ROW_BATCH,
          );
          result.mfaChallenges += challenges;
          return challenges;
        },
      },
      {
        full: ROW_BATCH,
        batch: async (tx) => {
          const models = await this.retention.deleteExpiredOidcModels(tx, now, ROW_BATCH);
          result.oidcModels += models;
          return models;
        },
      },
      { full: AUDIT_BATCH, batch: (tx) => this.pruneAudit(tx, auditCutoff, result) },
    ];
    for (const step of steps) {
      let deleted: Batch;
      do deleted = await this.batch(step.batch);
      while (deleted !== 'locked' && deleted >= step.full);
      // Another instance is pruning and carries on; what this pass deleted is still audited.
      if (deleted === 'locked') {
        result.skipped = true;
        break;
      }
    }

    const deleted =
      result.sessions +
      result.refreshTokens +
      result.mails +
      result.accountTokens +
      result.mfaChallenges +
      result.oidcModels +
      result.auditEvents;
    if (deleted > 0) {
      await this.transactions.run((tx) =>
        this.audit.record(
          tx,
          {
            type: 'retention.pruned',
            actorId: null,
            subjectUserId: null,
            details: {
              sessions: result.sessions,
              // Not "refreshTokens": details named like a token are dropped as possible secrets.
              refreshRecords: result.refreshTokens,
              mails: result.mails,
              accountRecords: result.accountTokens,
              mfaChallenges: result.mfaChallenges,
              oidcRecords: result.oidcModels,
              auditEvents: result.auditEvents,
              auditCheckpoint: result.auditCheckpoint,
              sessionRetentionDays: sessionDays,
              mailRetentionDays: mailDays,
              auditRetentionDays: auditDays,
            },
          },
          NO_REQUEST_CONTEXT,
        ),
      );
      this.logger.log(
        `Retention: deleted ${result.sessions} sessions, ${result.refreshTokens} refresh tokens, ` +
          `${result.mails} mails, ${result.accountTokens} account tokens, ` +
          `${result.mfaChallenges} MFA challenges, ${result.oidcModels} OpenID Provider records, ` +
          `${result.auditEvents} audit events`,
      );
    }
    return result;
  }

  /** One transaction, only if no other instance is pruning right now. */
  private batch(work: (tx: Transaction) => Promise<number>): Promise<Batch> {
    return this.transactions.run(async (tx) =>
      (await this.retention.tryPruningLock(tx)) ? work(tx) : 'locked',
    );
  }

  /**
   * Deletes the oldest events up to the first that is within retention (never the newest
   * event, which the next append chains to), after checking that they still verify: pruning
   * must not erase the evidence of an edit. Replaces the checkpoint with one that covers them.
   */
  private async pruneAudit(tx: Transaction, cutoff: Date, result: PruneResult): Promise<number> {
    await this.retention.lockAuditLog(tx);
    const checkpoint = await this.audit.latestCheckpoint(tx);
    if (checkpoint !== null) {
      const problem = this.audit.checkpointProblem(checkpoint);
      if (problem !== null) return this.refuse(result, problem);
    }
    const head = await this.retention.lastAuditSequence(tx);
    let previous = {
      sequence: checkpoint?.throughSequence ?? 0,
      hash: checkpoint?.throughHash ?? '0'.repeat(64),
      keyId: checkpoint === null ? null : checkpoint.throughKeyId,
    };
    const after = previous.sequence;
    let keyedSeen = checkpoint !== null && checkpoint.throughKeyId !== null;
    const candidates = await this.retention.auditEventsBetween(tx, after, head, AUDIT_BATCH);
    let pruned = 0;
    for (const event of candidates) {
      if (event.occurredAt.getTime() >= cutoff.getTime()) break;
      const problem = this.audit.brokenLink(event, previous, keyedSeen);
      if (problem !== null) {
        return this.refuse(result, `event ${event.id} (sequence ${event.sequence}): ${problem}`);
      }
      if (event.keyId !== null) keyedSeen = true;
      previous = { sequence: event.sequence, hash: event.hash, keyId: event.keyId };
      pruned += 1;
    }
    if (pruned === 0) return 0;
    const deleted = await this.retention.deleteAuditEvents(tx, after, previous.sequence);
    const signed = this.audit.signCheckpoint({
      throughSequence: previous.sequence,
      throughHash: previous.hash,
      throughKeyId: previous.keyId,
      prunedCount: (checkpoint?.prunedCount ?? 0) + deleted,
      createdAt: this.clock.now(),
    });
    await this.retention.replaceCheckpoint(tx, signed);
    result.auditEvents += deleted;
    result.auditCheckpoint = signed.throughSequence;
    // A full batch means there may be more; fewer means this pass reached the retention line.
    return pruned === candidates.length ? deleted : 0;
  }

  private refuse(result: PruneResult, problem: string): number {
    result.auditProblem = problem;
    this.logger.error(
      `Retention: audit events not pruned, the chain does not verify there: ${problem}. ` +
        'Run `npm run cli -- audit:verify`.',
    );
    return 0;
  }
}
