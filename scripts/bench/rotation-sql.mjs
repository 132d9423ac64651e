// Baseline (c) of `npm run bench`: the database work of one POST /auth/refresh, issued by the bare
// driver (better-sqlite3 or pg) with prepared statements (on PostgreSQL named ones, as the app's
// src/database/statements.ts), no ORM and no HTTP. It issues the
// statements SessionsService.rotate() issues (through src/sessions/sessions.repository.ts), in
// the same order, in one transaction:
//   BEGIN
//   SELECT the token by hash, joined to its session, the session's user and the user's roles
//                                      (then: session live? token unrotated? user active?)
//   UPDATE refresh_tokens SET rotated_at ... WHERE id AND rotated_at IS NULL   (must change 1 row)
//   INSERT the successor token
//   UPDATE sessions: last used, idle expiry, ip, user agent
//   COMMIT
// A successful rotation appends no audit event (only reuse does), so there is no audit insert.
// Keep this list in step with rotate() when it changes.
//
// Each of --concurrency chains owns a session and rotates its own token sequentially, like the
// HTTP scenario. Prints one JSON line.
// Usage: node rotation-sql.mjs --username U --seconds 10 --warmup 3 --concurrency 10
//        (DATABASE_URL for PostgreSQL, else SQLITE_PATH)
import Database from 'better-sqlite3';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { summarise } from './stats.mjs';

const IDLE_TTL_MS = 604_800_000; // REFRESH_IDLE_TTL default (7 days)
const ABSOLUTE_TTL_MS = 2_592_000_000; // REFRESH_ABSOLUTE_TTL default (30 days)
const CLIENT_IP = '127.0.0.1';

const SQL = {
  findToken:
    'SELECT t.id AS token_id, t.rotated_at AS token_rotated_at, ' +
    's.id AS session_id, s.user_id AS session_user_id, s.created_at AS session_created_at, ' +
    's.last_used_at, s.idle_expires_at, s.absolute_expires_at, s.revoked_at, s.revoke_reason, ' +
    's.user_agent, s.ip, s.amr, s.mfa_at, ' +
    'u.id, u.username, u.email, u.is_active, u.email_verified_at, u.password_changed_at, u.created_at, u.updated_at, ' +
    'r.name AS role ' +
    'FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id ' +
    'JOIN users u ON u.id = s.user_id ' +
    'LEFT JOIN users_to_roles ur ON ur.user_id = u.id LEFT JOIN roles r ON r.id = ur.role_id ' +
    'WHERE t.token_hash = ?',
  claim: 'UPDATE refresh_tokens SET rotated_at = ? WHERE id = ? AND rotated_at IS NULL',
  insertToken:
    'INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, created_at, rotated_at) ' +
    'VALUES (?, ?, ?, ?, ?, NULL)',
  touchSession:
    'UPDATE sessions SET last_used_at = ?, idle_expires_at = ?, ip = ?, user_agent = ? WHERE id = ?',
  // Set-up only (not measured): a session with its first token, as a login makes them.
  userId: 'SELECT id FROM users WHERE username = ?',
  insertSession:
    'INSERT INTO sessions (id, user_id, created_at, last_used_at, idle_expires_at, ' +
    'absolute_expires_at, revoked_at, revoke_reason, user_agent, ip, amr, mfa_at) ' +
    "VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, 'pwd', NULL)",
};

const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
const newToken = () => randomBytes(32).toString('base64url');

/** The checks rotate() makes in JavaScript between statements. */
function assertRotatable(token, now, toTime) {
  if (token === undefined) throw new Error('refresh token not found');
  const live =
    token.revoked_at === null &&
    toTime(token.idle_expires_at) > now &&
    toTime(token.absolute_expires_at) > now;
  if (!live || token.token_rotated_at !== null) throw new Error('refresh token not rotatable');
  if (token.is_active !== 1 && token.is_active !== true) throw new Error('user inactive');
}

/**
 * better-sqlite3 with the settings the app's connection has in the bench (WAL, foreign keys,
 * 5 s busy timeout, synchronous FULL). Synchronous calls.
 */
function sqliteDriver(file) {
  const db = new Database(file, { timeout: 5000 });
  db.pragma('foreign_keys = ON');
  db.pragma('journal_mode = WAL');
  // The app created this file, and a connection that switches a new file to WAL keeps
  // synchronous = FULL (an fsync per commit); one that opens a file already in WAL gets
  // better-sqlite3's WAL default, NORMAL. Match the app, or this baseline skips its fsyncs.
  db.pragma('synchronous = FULL');
  const statement = Object.fromEntries(
    Object.entries(SQL).map(([name, text]) => [name, db.prepare(text)]),
  );
  const begin = db.prepare('BEGIN TRANSACTION');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  // TypeORM's SQLite datetime: UTC text with milliseconds, which sorts like the instant.
  const text = (date) => date.toISOString().replace('T', ' ').replace('Z', '');
  const toTime = (value) => new Date(`${value.replace(' ', 'T')}Z`);

  return {
    userId: (username) => Promise.resolve(statement.userId.get(username).id),
    startSession(userId) {
      const now = new Date();
      const sessionId = randomUUID();
      const token = newToken();
      const idle = new Date(now.getTime() + IDLE_TTL_MS);
      const absolute = new Date(now.getTime() + ABSOLUTE_TTL_MS);
      db.transaction(() => {
        statement.insertSession.run(
          sessionId,
          userId,
          text(now),
          text(now),
          text(idle),
          text(absolute),
          CLIENT_IP,
        );
        statement.insertToken.run(randomUUID(), sessionId, sha256(token), null, text(now));
      })();
      return Promise.resolve(token);
    },
    rotate(presented) {
      const now = new Date();
      const next = newToken();
      begin.run();
      try {
        const [token] = statement.findToken.all(sha256(presented));
        assertRotatable(token, now, toTime);
        if (statement.claim.run(text(now), token.token_id).changes !== 1)
          throw new Error('lost the claim');
        statement.insertToken.run(
          randomUUID(),
          token.session_id,
          sha256(next),
          token.token_id,
          text(now),
        );
        const idle = new Date(
          Math.min(now.getTime() + IDLE_TTL_MS, toTime(token.absolute_expires_at).getTime()),
        );
        statement.touchSession.run(text(now), text(idle), CLIENT_IP, null, token.session_id);
        commit.run();
      } catch (error) {
        if (db.inTransaction) rollback.run();
        throw error;
      }
      return Promise.resolve(next);
    },
    close: () => Promise.resolve(db.close()),
  };
}

/** `?` placeholders to PostgreSQL's `$1, $2, ...`. */
function numbered(sql) {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** pg with a pool of 10 connections, as the app's DataSource has; statements prepared by name. */
function postgresDriver(url) {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const sql = Object.fromEntries(
    Object.entries(SQL).map(([name, text]) => [
      name,
      { name: `bench_${name}`, text: numbered(text) },
    ]),
  );
  const toTime = (value) => value;

  return {
    async userId(username) {
      return (await pool.query({ ...sql.userId, values: [username] })).rows[0].id;
    },
    async startSession(userId) {
      const now = new Date();
      const sessionId = randomUUID();
      const token = newToken();
      const idle = new Date(now.getTime() + IDLE_TTL_MS);
      const absolute = new Date(now.getTime() + ABSOLUTE_TTL_MS);
      await pool.query({
        ...sql.insertSession,
        values: [sessionId, userId, now, now, idle, absolute, CLIENT_IP],
      });
      await pool.query({
        ...sql.insertToken,
        values: [randomUUID(), sessionId, sha256(token), null, now],
      });
      return token;
    },
    async rotate(presented) {
      const now = new Date();
      const next = newToken();
      const client = await pool.connect();
      try {
        await client.query('START TRANSACTION');
        const token = (await client.query({ ...sql.findToken, values: [sha256(presented)] }))
          .rows[0];
        assertRotatable(token, now, toTime);
        const claimed = await client.query({ ...sql.claim, values: [now, token.token_id] });
        if (claimed.rowCount !== 1) throw new Error('lost the claim');
        await client.query({
          ...sql.insertToken,
          values: [randomUUID(), token.session_id, sha256(next), token.token_id, now],
        });
        const idle = new Date(
          Math.min(now.getTime() + IDLE_TTL_MS, token.absolute_expires_at.getTime()),
        );
        await client.query({
          ...sql.touchSession,
          values: [now, idle, CLIENT_IP, null, token.session_id],
        });
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
      return next;
    },
    close: () => pool.end(),
  };
}

/** Every chain rotates its own token until `seconds` have passed; latencies of each rotation. */
async function rotateFor(driver, chains, seconds) {
  const latencies = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    chains.map(async (chain) => {
      while (performance.now() < end) {
        const begun = performance.now();
        chain.token = await driver.rotate(chain.token);
        latencies.push(performance.now() - begun);
      }
    }),
  );
  return summarise(latencies, (performance.now() - start) / 1000);
}

const { values } = parseArgs({
  options: {
    username: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
  },
});
const databaseUrl = process.env.DATABASE_URL ?? '';
const driver =
  databaseUrl !== '' ? postgresDriver(databaseUrl) : sqliteDriver(process.env.SQLITE_PATH);
try {
  const userId = await driver.userId(values.username);
  const chains = [];
  for (let i = 0; i < Number(values.concurrency); i += 1) {
    chains.push({ token: await driver.startSession(userId) });
  }
  await rotateFor(driver, chains, Number(values.warmup));
  const result = await rotateFor(driver, chains, Number(values.seconds));
  console.log(JSON.stringify({ concurrency: chains.length, ...result }));
} finally {
  await driver.close();
}
