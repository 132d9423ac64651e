import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { runStatement, type Statement } from '../database/statements';
import { type AccountRow, accountFromRows } from '../users/account-rows';
import { toDate, toDateOrNull } from '../database/database';
import { AuthState, AuthStateCache } from './auth-state.cache';
import { AuthStateSignals } from './auth-state.signals';

export type { AuthState } from './auth-state.cache';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Everything the JWT guard checks on every request, in one parameterised query: the user, their
// roles and the session the token names. Entity hydration through TypeORM's query builder cost
// more than the queries themselves on this path.
const AUTH_STATE_SQL = `
  SELECT u.id, u.username, u.email, u.is_active, u.password_changed_at, u.created_at, u.updated_at,
         s.user_id AS session_user_id, s.revoked_at, s.idle_expires_at, s.absolute_expires_at,
         r.name AS role
  FROM users u
  LEFT JOIN sessions s ON s.id = :sessionId
  LEFT JOIN users_to_roles ur ON ur.user_id = u.id
  LEFT JOIN roles r ON r.id = ur.role_id
  WHERE u.id = :userId`;

const AUTH_STATE: Statement = { name: 'identity_auth_state', sql: AUTH_STATE_SQL };

interface Row extends AccountRow {
  session_user_id: string | null;
  revoked_at: Date | string | null;
  idle_expires_at: Date | string | null;
  absolute_expires_at: Date | string | null;
}

interface SqliteStatement {
  all(parameters: Record<string, string>): unknown[];
}

/**
 * The auth state an access token names: from memory when the cache holds it and the database
 * has reported no change since (AuthStateSignals), otherwise read with one parameterised query.
 */
@Injectable()
export class AuthStateReader {
  private sqlite?: SqliteStatement;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: AuthStateCache,
    private readonly signals: AuthStateSignals,
    private readonly clock: Clock,
  ) {}

  /** The state held in memory at `now`, if any may be trusted for this request. */
  async cached(userId: string, sessionId: string, now: Date): Promise<AuthState | undefined> {
    if (!this.cache.enabled || !(await this.signals.trusted())) return undefined;
    return this.cache.lookup(userId, sessionId, now.getTime());
  }

  /** The state in the database now; kept in memory for the next requests when it may be. */
  async read(userId: string, sessionId: string): Promise<AuthState | null> {
    if (!UUID.test(userId) || !UUID.test(sessionId)) return null;
    const ticket = this.cache.begin();
    const rows = await this.query(userId, sessionId);
    const state = toAuthState(rows);
    if (state !== null && this.cache.enabled && this.signals.mayStore()) {
      this.cache.store(ticket, sessionId, state, this.clock.now().getTime());
    }
    return state;
  }

  private async query(userId: string, sessionId: string): Promise<Row[]> {
    if (this.dataSource.options.type === 'better-sqlite3') {
      // better-sqlite3 is synchronous and in-process: a prepared statement of our own skips
      // TypeORM's per-query work, which cost more than the query.
      this.sqlite ??= (
        this.dataSource.driver as unknown as {
          databaseConnection: { prepare(sql: string): SqliteStatement };
        }
      ).databaseConnection.prepare(AUTH_STATE_SQL);
      return this.sqlite.all({ userId, sessionId }) as Row[];
    }
    const { rows } = await runStatement<Row>(this.dataSource, undefined, AUTH_STATE, {
      userId,
      sessionId,
    });
    return rows;
  }
}

function toAuthState(rows: Row[]): AuthState | null {
  const [first] = rows;
  if (first === undefined) return null;
  const session =
    first.session_user_id === null
      ? null
      : {
          userId: first.session_user_id,
          revokedAt: toDateOrNull(first.revoked_at),
          idleExpiresAt: toDate(first.idle_expires_at ?? 0),
          absoluteExpiresAt: toDate(first.absolute_expires_at ?? 0),
        };
  // Shared by every request the cache answers: nobody may change it in place.
  if (session !== null) Object.freeze(session);
  return { account: accountFromRows(rows, first), session };
}
