import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { Transactions, type Transaction } from '../database/database';
import { Metrics, type Reading } from '../metrics/metrics.service';
import { type ClaimedMail, MailOutboxRepository } from './mail-outbox.repository';
import { MailOutbox } from './mail-outbox.service';
import { MailTransport } from './mail-transport';
import { OUTBOX_STATUSES, type OutboxStatus } from './outbox-mail.entity';

/** Mails claimed (and sent concurrently) per batch. */
export const CLAIM_BATCH = 10;

/**
 * How long a claim holds: longer than a batch can take with the transport's timeouts. A worker
 * that dies mid-send leaves its mails to whoever passes after this.
 */
export const CLAIM_LEASE_SECONDS = 120;

const LAST_ERROR_LENGTH = 500;

/** What an attempt's failure means for the mail. */
export type FailureVerdict =
  { retry: true; nextAttemptAt: Date } | { retry: false; reason: 'permanent' | 'attempts' };

/**
 * SMTP 5xx is permanent (the server will never take this mail): give up now. Anything else
 * (4xx, no connection, a timeout) is tried again after min(max, base * 2^(attempts-1)) seconds,
 * until MAIL_MAX_ATTEMPTS attempts were made.
 */
export function judgeFailure(
  error: unknown,
  attempts: number,
  now: Date,
  settings: Pick<AppConfig['mail'], 'maxAttempts' | 'retryBaseSeconds' | 'retryMaxSeconds'>,
): FailureVerdict {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  if (typeof code === 'number' && code >= 500) return { retry: false, reason: 'permanent' };
  if (attempts >= settings.maxAttempts) return { retry: false, reason: 'attempts' };
  const seconds = Math.min(
    settings.retryMaxSeconds,
    settings.retryBaseSeconds * 2 ** Math.max(0, attempts - 1),
  );
  return { retry: true, nextAttemptAt: new Date(now.getTime() + seconds * 1000) };
}

/** An attempt's error as stored and audited: one line, bounded, never the message. */
export function describeFailure(error: unknown): string {
  const text =
    error instanceof Error
      ? [(error as { code?: unknown }).code, error.message].filter(Boolean).join(': ')
      : String(error);
  return text.replace(/\s+/g, ' ').trim().slice(0, LAST_ERROR_LENGTH) || 'unknown error';
}

/**
 * Delivers the outbox (SPEC §8) in every server instance: a pass claims due mails in batches
 * (a lease, so instances never send the same attempt and a crashed one's mails come back), sends
 * them, and records sent, retry or give-up. Woken when queued mail commits; MAIL_POLL_INTERVAL_MS
 * is the fallback (mail of other instances, retries, lapsed claims). docs/decisions.md,
 * "Mail outbox".
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxWorker.name);
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  /** The pass in progress; at most one per instance. */
  private running: Promise<number> | undefined;
  /** Woken during a pass: run another when it ends. */
  private again = false;
  private lastCounts: Reading<'status'> = [];

  constructor(
    private readonly outbox: MailOutboxRepository,
    private readonly mailOutbox: MailOutbox,
    private readonly transport: MailTransport,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {
    metrics.gauge(
      'identity_mail_outbox_mails',
      'Mails in the outbox by status: pending (waiting for an attempt), sending (claimed), sent and failed (kept for MAIL_RETENTION_DAYS)',
      ['status'],
      () => this.readCounts(),
    );
  }

  onApplicationBootstrap(): void {
    this.started = true;
    this.unsubscribe = this.mailOutbox.onQueued(() => this.wake());
    this.timer = setInterval(() => this.wake(), this.config.mail.pollIntervalMs);
    // The worker never keeps the process alive on its own.
    this.timer.unref();
    // Mail queued while no instance ran, and claims of a crashed one, go out now.
    this.wake();
  }

  async onModuleDestroy(): Promise<void> {
    this.started = false;
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    // Let the sends in progress finish and record their outcome before the database closes.
    await this.running?.catch(() => undefined);
    this.transport.close();
  }

  /**
   * One pass now (after the one in progress, if any): delivers every mail due at the clock's
   * time; resolves with how many were handled (sent, rescheduled or given up).
   */
  async runOnce(): Promise<number> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
    const pass = this.pass();
    this.running = pass;
    try {
      return await pass;
    } finally {
      if (this.running === pass) this.running = undefined;
      // Mail committed during this pass may have been claimable only after its claim.
      if (this.again) this.wake();
    }
  }

  private wake(): void {
    if (!this.started) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    const loop = (async () => {
      let handled = 0;
      do {
        this.again = false;
        try {
          handled += await this.pass();
        } catch (error) {
          // The next wake or poll tries again; a database outage must not take the service down.
          this.logger.error(`Mail outbox pass failed: ${describeFailure(error)}`);
        }
      } while (this.again && this.started);
      return handled;
    })();
    this.running = loop;
    void loop.finally(() => {
      if (this.running === loop) this.running = undefined;
    });
  }

  private async pass(): Promise<number> {
    let handled = 0;
    for (;;) {
      const now = this.clock.now();
      if (!(await this.outbox.anyDue(now))) return handled;
      const leaseEnd = new Date(now.getTime() + CLAIM_LEASE_SECONDS * 1000);
      const claimed = await this.write((tx) =>
        this.outbox.claimDue(tx, now, leaseEnd, CLAIM_BATCH),
      );
      await Promise.all(claimed.map((mail) => this.deliver(mail)));
      handled += claimed.length;
      if (claimed.length < CLAIM_BATCH || !this.started) return handled;
    }
  }

  private async deliver(mail: ClaimedMail): Promise<void> {
    try {
      await this.transport.send(
        {
          id: mail.id,
          kind: mail.kind,
          to: mail.recipient,
          subject: mail.subject,
          text: mail.textBody,
          html: mail.htmlBody,
          messageId: mail.messageId,
        },
        this.clock.now(),
      );
    } catch (error) {
      await this.attemptFailed(mail, error);
      return;
    }
    this.metrics.mailDelivery('sent');
    try {
      await this.write((tx) => this.outbox.markSent(tx, mail.id, this.clock.now()));
    } catch (error) {
      // Sent but not recorded: the claim lapses and the mail goes again (at least once).
      this.logger.error(`Mail ${mail.id} sent but not recorded: ${describeFailure(error)}`);
    }
  }

  private async attemptFailed(mail: ClaimedMail, error: unknown): Promise<void> {
    const now = this.clock.now();
    const lastError = describeFailure(error);
    const verdict = judgeFailure(error, mail.attempts, now, this.config.mail);
    try {
      if (verdict.retry) {
        await this.write((tx) =>
          this.outbox.reschedule(tx, mail, verdict.nextAttemptAt, lastError),
        );
        this.metrics.mailDelivery('retried');
        this.logger.log(
          `Mail ${mail.kind} ${mail.id}: attempt ${mail.attempts} failed (${lastError}); ` +
            `next at ${verdict.nextAttemptAt.toISOString()}`,
        );
        return;
      }
      const gaveUp = await this.write(async (tx) => {
        if (!(await this.outbox.markFailed(tx, mail, now, lastError))) return false;
        await this.audit.record(
          tx,
          {
            type: 'mail.failed',
            actorId: null,
            subjectUserId: mail.userId,
            details: { kind: mail.kind, mailId: mail.id, attempts: mail.attempts, lastError },
          },
          NO_REQUEST_CONTEXT,
        );
        return true;
      });
      if (!gaveUp) return;
      this.metrics.mailDelivery('failed');
      this.logger.warn(
        `Mail ${mail.kind} ${mail.id} given up after ${mail.attempts} attempt(s)` +
          `${verdict.reason === 'permanent' ? ' (permanent failure)' : ''}: ${lastError}`,
      );
    } catch (recordError) {
      // Unrecorded: the claim lapses and the mail is tried again.
      this.logger.error(
        `Mail ${mail.id}: failed attempt not recorded: ${describeFailure(recordError)}`,
      );
    }
  }

  /** A transaction of the worker's, in turn with other workers on the same SQLite file. */
  private write<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.outbox.inTurn(() => this.transactions.run(work));
  }

  /** The rows by status at scrape time; the last reading when the database does not answer. */
  private async readCounts(): Promise<Reading<'status'>> {
    try {
      const counts = await this.outbox.countByStatus();
      this.lastCounts = OUTBOX_STATUSES.map(
        (status: OutboxStatus) => [{ status }, counts[status]] as const,
      );
    } catch {
      // Keep the previous values: the readiness check reports the database.
    }
    return this.lastCounts;
  }
}
