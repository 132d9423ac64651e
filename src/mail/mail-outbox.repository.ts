import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Database, type Statement, type Transaction } from '../database/database';
import { AfterCommitSubscriber } from './after-commit.subscriber';
import { OUTBOX_STATUSES, type OutboxStatus } from './outbox-mail.entity';

/** A row to insert: what the caller gave plus the outbox's own fields. */
export interface NewOutboxRow {
  id: string;
  kind: string;
  recipient: string;
  userId: string | null;
  subject: string;
  textBody: string;
  htmlBody: string;
  messageId: string;
  now: Date;
}

/** A mail claimed for one delivery attempt (`attempts` counts this one). */
export interface ClaimedMail {
  id: string;
  kind: string;
  recipient: string;
  userId: string | null;
  subject: string;
  textBody: string;
  htmlBody: string;
  attempts: number;
  messageId: string;
}

interface ClaimedRow {
  id: string;
  kind: string;
  recipient: string;
  user_id: string | null;
  subject: string;
  text_body: string | null;
  html_body: string | null;
  attempts: number | string;
  message_id: string;
}

const INSERT: Statement = {
  name: 'identity_mail_outbox_insert',
  sql: `
    INSERT INTO mail_outbox (id, kind, recipient, user_id, subject, text_body, html_body, status,
                             attempts, next_attempt_at, claimed_until, last_error, message_id,
                             created_at, finished_at)
    VALUES (:id, :kind, :recipient, :userId, :subject, :textBody, :htmlBody, 'pending', 0, :now,
            NULL, NULL, :messageId, :now, NULL)`,
};

// Due: pending and its time has come, or claimed by a worker whose lease has lapsed.
const DUE = `
  (status = 'pending' AND next_attempt_at <= :now)
  OR (status = 'sending' AND claimed_until <= :now)`;

const ANY_DUE: Statement = {
  name: 'identity_mail_outbox_any_due',
  sql: `SELECT 1 AS due FROM mail_outbox WHERE ${DUE} LIMIT 1`,
};

const CLAIMED_COLUMNS =
  'id, kind, recipient, user_id, subject, text_body, html_body, attempts, message_id';

/** PostgreSQL: rows another worker is claiming right now are skipped, not waited for. */
const CLAIM_POSTGRES: Statement = {
  name: 'identity_mail_outbox_claim',
  sql: `
    UPDATE mail_outbox
    SET status = 'sending', attempts = attempts + 1, claimed_until = :claimedUntil
    WHERE id IN (
      SELECT id FROM mail_outbox WHERE ${DUE}
      ORDER BY next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED)
    RETURNING ${CLAIMED_COLUMNS}`,
};

/** SQLite: one writer at a time, so the same statement without row locks. */
const CLAIM_SQLITE: Statement = {
  name: 'identity_mail_outbox_claim_sqlite',
  sql: `
    UPDATE mail_outbox
    SET status = 'sending', attempts = attempts + 1, claimed_until = :claimedUntil
    WHERE id IN (SELECT id FROM mail_outbox WHERE ${DUE} ORDER BY next_attempt_at LIMIT :batch)
    RETURNING ${CLAIMED_COLUMNS}`,
};

// Sent: final whatever happened to the row meanwhile (a lapsed lease re-claimed by another
// worker cannot unsend it). The bodies hold links with tokens: they go.
const MARK_SENT: Statement = {
  name: 'identity_mail_outbox_sent',
  sql: `
    UPDATE mail_outbox
    SET status = 'sent', finished_at = :now, claimed_until = NULL, text_body = NULL,
        html_body = NULL
    WHERE id = :id AND status <> 'sent'`,
};

// A failed attempt changes the row only while this attempt's claim is the current one.
const RESCHEDULE: Statement = {
  name: 'identity_mail_outbox_reschedule',
  sql: `
    UPDATE mail_outbox
    SET status = 'pending', next_attempt_at = :nextAttemptAt, claimed_until = NULL,
        last_error = :lastError
    WHERE id = :id AND status = 'sending' AND attempts = :attempts`,
};

const MARK_FAILED: Statement = {
  name: 'identity_mail_outbox_failed',
  sql: `
    UPDATE mail_outbox
    SET status = 'failed', finished_at = :now, claimed_until = NULL, last_error = :lastError,
        text_body = NULL, html_body = NULL
    WHERE id = :id AND status = 'sending' AND attempts = :attempts`,
};

const COUNT_BY_STATUS: Statement = {
  name: 'identity_mail_outbox_by_status',
  sql: 'SELECT status, COUNT(*) AS count FROM mail_outbox GROUP BY status',
};

// SQLite: workers of apps in one process (tests) take turns per database file: better-sqlite3
// waits synchronously for another connection's lock, which would stall its holder on this thread.
const sqliteTurns = new Map<string, Promise<unknown>>();

/** The mail_outbox table: queueing, the workers' claims and outcomes, and its counts. */
@Injectable()
export class MailOutboxRepository {
  constructor(
    private readonly database: Database,
    private readonly config: AppConfig,
  ) {
    database.subscribe(new AfterCommitSubscriber());
  }

  /** Runs `callback` once `tx` has committed (never if it rolls back); at once outside one. */
  afterCommit(tx: Transaction, callback: () => void): void {
    AfterCommitSubscriber.note(tx, callback);
  }

  /** Runs a worker's `write` after the other workers' of this process on the same SQLite file. */
  inTurn<T>(write: () => Promise<T>): Promise<T> {
    const { database } = this.config;
    if (database.kind !== 'sqlite') return write();
    const next = (sqliteTurns.get(database.path) ?? Promise.resolve()).then(write);
    sqliteTurns.set(
      database.path,
      next.catch(() => undefined),
    );
    return next;
  }

  /** Inserts a pending mail in `tx`, due at `now`. */
  async insert(tx: Transaction, row: NewOutboxRow): Promise<void> {
    await this.database.run(INSERT, { ...row }, tx);
  }

  /**
   * Whether any mail is due at `now`: a read, so an idle pass takes no write lock (on SQLite,
   * WAL: it waits for no writer).
   */
  async anyDue(now: Date): Promise<boolean> {
    const { rows } = await this.database.run(ANY_DUE, { now });
    return rows.length > 0;
  }

  /**
   * Claims up to `batch` due mails for one attempt each: `sending`, attempts + 1, leased until
   * `claimedUntil`. Concurrent claims (other workers, other instances) never get the same row.
   */
  async claimDue(
    tx: Transaction,
    now: Date,
    claimedUntil: Date,
    batch: number,
  ): Promise<ClaimedMail[]> {
    const statement = this.database.dialect === 'postgres' ? CLAIM_POSTGRES : CLAIM_SQLITE;
    const { rows } = await this.database.run<ClaimedRow>(
      statement,
      { now, claimedUntil, batch },
      tx,
    );
    return rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      recipient: row.recipient,
      userId: row.user_id,
      subject: row.subject,
      textBody: row.text_body ?? '',
      htmlBody: row.html_body ?? '',
      attempts: Number(row.attempts),
      messageId: row.message_id,
    }));
  }

  async markSent(tx: Transaction, id: string, now: Date): Promise<void> {
    await this.database.run(MARK_SENT, { id, now }, tx);
  }

  /** Back to pending until `nextAttemptAt`; false when the claim was no longer this attempt's. */
  async reschedule(
    tx: Transaction,
    mail: Pick<ClaimedMail, 'id' | 'attempts'>,
    nextAttemptAt: Date,
    lastError: string,
  ): Promise<boolean> {
    const { affected } = await this.database.run(
      RESCHEDULE,
      { id: mail.id, attempts: mail.attempts, nextAttemptAt, lastError },
      tx,
    );
    return affected > 0;
  }

  /** Given up (final, bodies cleared); false when the claim was no longer this attempt's. */
  async markFailed(
    tx: Transaction,
    mail: Pick<ClaimedMail, 'id' | 'attempts'>,
    now: Date,
    lastError: string,
  ): Promise<boolean> {
    const { affected } = await this.database.run(
      MARK_FAILED,
      { id: mail.id, attempts: mail.attempts, now, lastError },
      tx,
    );
    return affected > 0;
  }

  /** How many rows are in each status (every status present, 0 when none). */
  async countByStatus(): Promise<Record<OutboxStatus, number>> {
    const { rows } = await this.database.run<{ status: string; count: number | string }>(
      COUNT_BY_STATUS,
      {},
    );
    const counts = Object.fromEntries(OUTBOX_STATUSES.map((status) => [status, 0])) as Record<
      OutboxStatus,
      number
    >;
    for (const row of rows) {
      if ((OUTBOX_STATUSES as readonly string[]).includes(row.status)) {
        counts[row.status as OutboxStatus] = Number(row.count);
      }
    }
    return counts;
  }
}
