import type { Statement } from '../database/statements';

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

export const DELETE_TOKENS_OF_DEAD_SESSIONS: Statement = {
  name: 'identity_retention_dead_session_tokens',
  sql: `DELETE FROM refresh_tokens WHERE session_id IN (${DEAD_SESSIONS})`,
};

// The same subquery in the same transaction: the sessions whose tokens were just deleted.
export const DELETE_DEAD_SESSIONS: Statement = {
  name: 'identity_retention_dead_sessions',
  sql: `DELETE FROM sessions WHERE id IN (${DEAD_SESSIONS})`,
};

// Rotated tokens of sessions that live on: kept for reuse detection until `:cutoff`.
export const DELETE_ROTATED_TOKENS: Statement = {
  name: 'identity_retention_rotated_tokens',
  sql: `
    DELETE FROM refresh_tokens WHERE id IN (
      SELECT id FROM refresh_tokens WHERE rotated_at < :cutoff ORDER BY id LIMIT :batch)`,
};

/** PostgreSQL: one instance prunes at a time; the others skip (released at commit). */
export const TRY_RETENTION_LOCK: Statement = {
  name: 'identity_retention_try_lock',
  sql: 'SELECT pg_try_advisory_xact_lock(:key) AS locked',
};

/** SQLite: a write that changes nothing, to take the write lock before reading the chain. */
export const TAKE_SQLITE_WRITE_LOCK: Statement = {
  name: 'identity_retention_write_lock',
  sql: 'DELETE FROM audit_checkpoints WHERE 1 = 0',
};

export const LAST_AUDIT_SEQUENCE: Statement = {
  name: 'identity_retention_last_sequence',
  sql: 'SELECT MAX(sequence) AS sequence FROM audit_events',
};

export const DELETE_AUDIT_PREFIX: Statement = {
  name: 'identity_retention_audit_prefix',
  sql: 'DELETE FROM audit_events WHERE sequence > :after AND sequence <= :through',
};

export const INSERT_CHECKPOINT: Statement = {
  name: 'identity_retention_checkpoint',
  sql: `
    INSERT INTO audit_checkpoints (through_sequence, through_hash, through_key_id, pruned_count,
                                   created_at, key_id, mac)
    VALUES (:throughSequence, :throughHash, :throughKeyId, :prunedCount, :createdAt, :keyId, :mac)`,
};

// Only the newest checkpoint matters; older ones would only grow.
export const DELETE_OLDER_CHECKPOINTS: Statement = {
  name: 'identity_retention_old_checkpoints',
  sql: 'DELETE FROM audit_checkpoints WHERE through_sequence < :through',
};
