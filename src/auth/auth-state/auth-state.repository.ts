import { Injectable } from '@nestjs/common';
import {
  Database,
  type SqliteStatement,
  type Statement,
  toDate,
  toDateOrNull,
} from '../../database/database';
import { type AccountRow, accountFromRows } from '../../users/account-rows';
import type { EntitySubscriberInterface } from 'typeorm';
import type { AuthState } from './auth-state.cache';

/**
 * The triggers migrations 1764000000006, 1764000000009 and 1764000000014 create; without all
 * of them nothing may be cached.
 */
const POSTGRES_TRIGGERS = [
  'TRG_users_auth_state_update',
  'TRG_users_auth_state_delete',
  'TRG_sessions_auth_state_update',
  'TRG_sessions_auth_state_delete',
  'TRG_users_to_roles_auth_state',
  'TRG_roles_auth_state',
  'TRG_sessions_auth_state_idle',
  'TRG_users_auth_state_truncate',
  'TRG_sessions_auth_state_truncate',
  'TRG_users_to_roles_auth_state_truncate',
  'TRG_roles_auth_state_truncate',
  'TRG_mfa_totp_factors_auth_state',
  'TRG_mfa_totp_factors_auth_state_update',
  'TRG_webauthn_credentials_auth_state',
  'TRG_mfa_totp_factors_auth_state_truncate',
  'TRG_webauthn_credentials_auth_state_truncate',
];
const SQLITE_TRIGGERS = [
  'TRG_users_auth_state_update',
  'TRG_users_auth_state_delete',
  'TRG_sessions_auth_state_update',
  'TRG_sessions_auth_state_delete',
  'TRG_users_to_roles_auth_state_insert',
  'TRG_users_to_roles_auth_state_update',
  'TRG_users_to_roles_auth_state_delete',
  'TRG_roles_auth_state_update',
  'TRG_roles_auth_state_delete',
  'TRG_sessions_auth_state_idle',
  'TRG_mfa_totp_factors_auth_state_insert',
  'TRG_mfa_totp_factors_auth_state_update',
  'TRG_mfa_totp_factors_auth_state_delete',
  'TRG_webauthn_credentials_auth_state_insert',
  'TRG_webauthn_credentials_auth_state_delete',
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Everything the JWT guard checks on every request, in one parameterised query: the user, their
// roles, which second factors they have (GET /users/me shows them) and the session the token
// names. Entity hydration through TypeORM's query builder cost
// more than the queries themselves on this path.
const AUTH_STATE_SQL = `
  SELECT u.id, u.username, u.email, u.is_active, u.email_verified_at, u.password_changed_at, u.created_at, u.updated_at,
         s.user_id AS session_user_id, s.revoked_at, s.idle_expires_at, s.absolute_expires_at,
         r.name AS role,
         CASE WHEN EXISTS (SELECT 1 FROM mfa_totp_factors t
           WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) THEN 1 ELSE 0 END AS totp,
         CASE WHEN EXISTS (SELECT 1 FROM webauthn_credentials w
           WHERE w.user_id = u.id) THEN 1 ELSE 0 END AS passkey
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
  totp: number | string;
  passkey: number | string;
}

/**
 * What the auth state is read from: the one query of a user, their roles and one session (by
 * primary keys), and the triggers and version row through which the database reports changes.
 */
@Injectable()
export class AuthStateRepository {
  private sqlite?: SqliteStatement;

  constructor(private readonly database: Database) {}

  /** The state in the database now; null when the user does not exist (or the ids are no uuids). */
  async find(userId: string, sessionId: string): Promise<AuthState | null> {
    if (!UUID.test(userId) || !UUID.test(sessionId)) return null;
    return toAuthState(await this.rows(userId, sessionId));
  }

  /** Whether every trigger that reports changes exists (else nothing may be cached). */
  async triggersPresent(): Promise<boolean> {
    const sqlite = this.database.dialect === 'sqlite';
    const rows = await this.database.query<{ name: string }>(
      sqlite
        ? `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'TRG\\_%auth\\_state%' ESCAPE '\\'`
        : `SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'TRG\\_%auth\\_state%'`,
    );
    const present = new Set(rows.map((row) => row.name));
    return (sqlite ? SQLITE_TRIGGERS : POSTGRES_TRIGGERS).every((name) => present.has(name));
  }

  /**
   * SQLite: a reader of the version row the triggers move on every change (one small
   * synchronous statement on the driver's connection).
   */
  versionReader(): () => unknown {
    const statement = this.database
      .prepareSqlite('SELECT "version" FROM "auth_state_version" WHERE "id" = 1')
      .pluck();
    return () => statement.get();
  }

  /** This instance's own writes, as they commit (PostgreSQL: ahead of their notification). */
  onLocalWrites(subscriber: EntitySubscriberInterface): void {
    this.database.subscribe(subscriber);
  }

  private async rows(userId: string, sessionId: string): Promise<Row[]> {
    if (this.database.dialect === 'sqlite') {
      // better-sqlite3 is synchronous and in-process: a prepared statement of our own skips
      // TypeORM's per-query work, which cost more than the query.
      this.sqlite ??= this.database.prepareSqlite(AUTH_STATE_SQL);
      return this.sqlite.all({ userId, sessionId }) as Row[];
    }
    const { rows } = await this.database.run<Row>(AUTH_STATE, { userId, sessionId });
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
  const secondFactors: string[] = [];
  if (Number(first.totp) === 1) secondFactors.push('totp');
  if (Number(first.passkey) === 1) secondFactors.push('passkey');
  return {
    account: accountFromRows(rows, first),
    secondFactors: Object.freeze(secondFactors),
    session,
  };
}
