import { Injectable } from '@nestjs/common';
import { AuditEvent } from '../audit/audit-event.entity';
import type { AuditCheckpoint } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { Database, type Statement, type Transaction } from '../database/database';

/**
 * The pruning statements. Every batch starts with a write, so on SQLite the transaction holds
 * the write lock before it reads (a read first could meet SQLITE_BUSY_SNAPSHOT when another
 * process wrote in between); each subquery picks at most `:batch` rows in a stable order.
 */

// A session is dead once revoked or past either expiry; it is deleted `retention` after that.
const DEAD_SESSIONS = `
  SELECT id FROM sessions
  WHERE revoked_at < :cutoff OR idle_expires_at < :cutoff OR absolute_expires_at < :cutoff
  ORDER BY id LIMIT :batch`;

const DELETE_TOKENS_OF_DEAD_SESSIONS: Statement = {
  name: 'identity_retention_dead_session_tokens',
  sql: `DELETE FROM refresh_tokens WHERE session_id IN (${DEAD_SESSIONS})`,
};

// The same subquery in the same transaction: the sessions whose tokens were just deleted.
const DELETE_DEAD_SESSIONS: Statement = {
  name: 'identity_retention_dead_sessions',
  sql: `DELETE FROM sessions WHERE id IN (${DEAD_SESSIONS})`,
};

// Rotated tokens of sessions that live on: kept for reuse detection until `:cutoff`.
const DELETE_ROTATED_TOKENS: Statement = {
  name: 'identity_retention_rotated_tokens',
  sql: `
    DELETE FROM refresh_tokens WHERE id IN (
      SELECT id FROM refresh_tokens WHERE rotated_at < :cutoff ORDER BY id LIMIT :batch)`,
};

// Mails delivered or given up (their bodies are already cleared), `retention` after that.
const DELETE_FINISHED_MAILS: Statement = {
  name: 'identity_retention_finished_mails',
  sql: `
    DELETE FROM mail_outbox WHERE id IN (
      SELECT id FROM mail_outbox
      WHERE status IN ('sent', 'failed') AND finished_at < :cutoff ORDER BY id LIMIT :batch)`,
};

// Mailed tokens spent (used or replaced) or expired, `retention` after that.
const DELETE_SPENT_ACCOUNT_TOKENS: Statement = {
  name: 'identity_retention_spent_account_tokens',
  sql: `
    DELETE FROM account_tokens WHERE id IN (
      SELECT id FROM account_tokens WHERE used_at < :cutoff OR expires_at < :cutoff
      ORDER BY id LIMIT :batch)`,
};

// Second-factor challenges (mfa_token, WebAuthn) spent or expired, `retention` after that.
const DELETE_SPENT_MFA_CHALLENGES: Statement = {
  name: 'identity_retention_spent_mfa_challenges',
  sql: `
    DELETE FROM mfa_challenges WHERE id IN (
      SELECT id FROM mfa_challenges WHERE used_at < :cutoff OR expires_at < :cutoff
      ORDER BY id LIMIT :batch)`,
};

// What the OpenID Provider stored (codes, tokens, sessions, grants) once expired: the provider
// treats an expired model as absent, so nothing reads it any more.
const DELETE_EXPIRED_OIDC_MODELS: Statement = {
  name: 'identity_retention_expired_oidc_models',
  sql: `
    DELETE FROM oidc_models WHERE (kind, id) IN (
      SELECT kind, id FROM oidc_models WHERE expires_at < :now
      ORDER BY expires_at LIMIT :batch)`,
};

/** PostgreSQL: one instance prunes at a time; the others skip (released at commit). */
const TRY_RETENTION_LOCK: Statement = {
  name: 'identity_retention_try_lock',
  sql: 'SELECT pg_try_advisory_xact_lock(:key) AS locked',
};

/** SQLite: a write that changes nothing, to take the write lock before reading the chain. */
const TAKE_SQLITE_WRITE_LOCK: Statement = {
  name: 'identity_retention_write_lock',
  sql: 'DELETE FROM audit_checkpoints WHERE 1 = 0',
};

const LAST_AUDIT_SEQUENCE: Statement = {
  name: 'identity_retention_last_sequence',
  sql: 'SELECT MAX(sequence) AS sequence FROM audit_events',
};

const DELETE_AUDIT_PREFIX: Statement = {
  name: 'identity_retention_audit_prefix',
  sql: 'DELETE FROM audit_events WHERE sequence > :after AND sequence <= :through',
};

const INSERT_CHECKPOINT: Statement = {
  name: 'identity_retention_checkpoint',
  sql: `
    INSERT INTO audit_checkpoints (through_sequence, through_hash, through_key_id, pruned_count,
                                   created_at, key_id, mac)
    VALUES (:throughSequence, :throughHash, :throughKeyId, :prunedCount, :createdAt, :keyId, :mac)`,
};

// Only the newest checkpoint matters; older ones would only grow.
const DELETE_OLDER_CHECKPOINTS: Statement = {
  name: 'identity_retention_old_checkpoints',
  sql: 'DELETE FROM audit_checkpoints WHERE through_sequence < :through',
};

/** PostgreSQL advisory lock of the pruning job ("retain" in ASCII). */
export const RETENTION_LOCK_KEY = 0x72657461696e;

// SQLite: instances in one process (tests; better-sqlite3 waits synchronously for a lock, which
// would stall the holder on the same thread) take turns per database file.
const sqlitePasses = new Map<string, Promise<unknown>>();

/**
 * What the retention job deletes (dead sessions with their refresh tokens, rotated tokens,
 * finished mails, spent account tokens and second-factor challenges, the audit log's oldest
 * events) and the checkpoint that replaces pruned events; its locks.
 */
@Injectable()
export class RetentionRepository {
  constructor(
    private readonly database: Database,
    private readonly config: AppConfig,
  ) {}

  /**
   * Runs `pass` when no other pass of this process on the same SQLite file runs; on PostgreSQL
   * at once (the pruning lock decides between instances, see {@link tryPruningLock}).
   */
  inTurn<T>(pass: () => Promise<T>): Promise<T> {
    const { database } = this.config;
    if (database.kind !== 'sqlite') return pass();
    const file = database.path;
    const next = (sqlitePasses.get(file) ?? Promise.resolve()).then(pass);
    sqlitePasses.set(
      file,
      next.catch(() => undefined),
    );
    return next;
  }

  /**
   * PostgreSQL: takes the pruning lock for `tx` (held until it ends) if no other instance holds
   * it, and says whether it did. SQLite: true, a batch's first write takes SQLite's lock.
   */
  async tryPruningLock(tx: Transaction): Promise<boolean> {
    if (this.database.dialect !== 'postgres') return true;
    const {
      rows: [row],
    } = await this.database.run<{ locked: boolean }>(
      TRY_RETENTION_LOCK,
      { key: RETENTION_LOCK_KEY },
      tx,
    );
    return row?.locked === true;
  }

  /** Up to `batch` sessions dead before `cutoff`, with their refresh tokens; the counts deleted. */
  async deleteDeadSessions(
    tx: Transaction,
    cutoff: Date,
    batch: number,
  ): Promise<{ sessions: number; refreshTokens: number }> {
    const refreshTokens = await this.affected(tx, DELETE_TOKENS_OF_DEAD_SESSIONS, {
      cutoff,
      batch,
    });
    const sessions = await this.affected(tx, DELETE_DEAD_SESSIONS, { cutoff, batch });
    return { sessions, refreshTokens };
  }

  /** Up to `batch` refresh tokens rotated before `cutoff`; the count deleted. */
  deleteRotatedTokens(tx: Transaction, cutoff: Date, batch: number): Promise<number> {
    return this.affected(tx, DELETE_ROTATED_TOKENS, { cutoff, batch });
  }

  /** Up to `batch` outbox mails sent or given up before `cutoff`; the count deleted. */
  deleteFinishedMails(tx: Transaction, cutoff: Date, batch: number): Promise<number> {
    return this.affected(tx, DELETE_FINISHED_MAILS, { cutoff, batch });
  }

  /** Up to `batch` account tokens used or expired before `cutoff`; the count deleted. */
  deleteSpentAccountTokens(tx: Transaction, cutoff: Date, batch: number): Promise<number> {
    return this.affected(tx, DELETE_SPENT_ACCOUNT_TOKENS, { cutoff, batch });
  }

  deleteSpentMfaChallenges(tx: Transaction, cutoff: Date, batch: number): Promise<number> {
    return this.affected(tx, DELETE_SPENT_MFA_CHALLENGES, { cutoff, batch });
  }

  deleteExpiredOidcModels(tx: Transaction, now: Date, batch: number): Promise<number> {
    return this.affected(tx, DELETE_EXPIRED_OIDC_MODELS, { now, batch });
  }

  /**
   * Makes `tx` the audit log's only writer before it reads the chain: SQLite takes its write
   * lock with a write that changes nothing (PostgreSQL: the pruning lock is enough; appends
   * only read the newest event, which is never pruned).
   */
  async lockAuditLog(tx: Transaction): Promise<void> {
    if (this.database.dialect === 'postgres') return;
    await this.database.run(TAKE_SQLITE_WRITE_LOCK, {}, tx);
  }

  /** The newest event's sequence; 0 when the log is empty. */
  async lastAuditSequence(tx: Transaction): Promise<number> {
    const {
      rows: [last],
    } = await this.database.run<{ sequence: number | string | null }>(LAST_AUDIT_SEQUENCE, {}, tx);
    return last?.sequence === null || last === undefined ? 0 : Number(last.sequence);
  }

  /** Up to `limit` events after sequence `after` and before `before`, oldest first. */
  auditEventsBetween(
    tx: Transaction,
    after: number,
    before: number,
    limit: number,
  ): Promise<AuditEvent[]> {
    return this.database
      .manager(tx)
      .getRepository(AuditEvent)
      .createQueryBuilder('event')
      .where('event.sequence > :after', { after })
      .andWhere('event.sequence < :head', { head: before })
      .orderBy('event.sequence', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Deletes the events after `after` up to and including `through`; the count deleted. */
  deleteAuditEvents(tx: Transaction, after: number, through: number): Promise<number> {
    return this.affected(tx, DELETE_AUDIT_PREFIX, { after, through });
  }

  /** Stores `checkpoint` as the only one (older checkpoints are deleted). */
  async replaceCheckpoint(tx: Transaction, checkpoint: AuditCheckpoint): Promise<void> {
    await this.database.run(
      INSERT_CHECKPOINT,
      {
        ...checkpoint,
        // As text on both databases, so what is read back is what was signed.
        createdAt: checkpoint.createdAt.toISOString(),
      },
      tx,
    );
    await this.database.run(DELETE_OLDER_CHECKPOINTS, { through: checkpoint.throughSequence }, tx);
  }

  private async affected(
    tx: Transaction,
    statement: Statement,
    parameters: Record<string, unknown>,
  ): Promise<number> {
    return (await this.database.run(statement, parameters, tx)).affected;
  }
}
