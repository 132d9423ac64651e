import type { DataSource, EntityManager, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { UserWithRoles } from '../users/users.service';
import { runStatement, type Statement, type StatementResult } from '../database/statements';
import { toDate, toDateOrNull } from '../database/database';
import { type AccountRow, accountFromRows } from '../users/account-rows';
import { RefreshToken } from './refresh-token.entity';
import { Session } from './session.entity';

// The statements of a login's new session and of a refresh-token rotation, in plain
// parameterised SQL: TypeORM's query building and entity hydration cost more than the
// statements themselves on these paths (see docs/benchmarks.md). scripts/bench/rotation-sql.mjs
// issues the rotation's: keep them in step.

/** The presented token, its session, the session's user and the user's roles (one row each). */
export const FIND_TOKEN_SQL = `
  SELECT t.id AS token_id, t.rotated_at AS token_rotated_at,
         s.id AS session_id, s.user_id AS session_user_id, s.created_at AS session_created_at,
         s.last_used_at, s.idle_expires_at, s.absolute_expires_at, s.revoked_at, s.revoke_reason,
         s.user_agent, s.ip,
         u.id, u.username, u.email, u.is_active, u.password_changed_at, u.created_at, u.updated_at,
         r.name AS role
  FROM refresh_tokens t
  JOIN sessions s ON s.id = t.session_id
  JOIN users u ON u.id = s.user_id
  LEFT JOIN users_to_roles ur ON ur.user_id = u.id
  LEFT JOIN roles r ON r.id = ur.role_id
  WHERE t.token_hash = :tokenHash`;

/** Only an unrotated token can be claimed: of concurrent rotations exactly one changes a row. */
export const CLAIM_SQL = `
  UPDATE refresh_tokens SET rotated_at = :now WHERE id = :id AND rotated_at IS NULL`;

export const INSERT_TOKEN_SQL = `
  INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, created_at, rotated_at)
  VALUES (:id, :sessionId, :tokenHash, :parentId, :createdAt, NULL)`;

export const INSERT_SESSION_SQL = `
  INSERT INTO sessions (id, user_id, created_at, last_used_at, idle_expires_at,
                        absolute_expires_at, revoked_at, revoke_reason, user_agent, ip)
  VALUES (:sessionId, :userId, :sessionCreatedAt, :lastUsedAt, :idleExpiresAt,
          :absoluteExpiresAt, NULL, NULL, :userAgent, :ip)`;

/**
 * PostgreSQL: the session and its first refresh token in one statement (one round trip); the
 * token's foreign key is checked at the end of the statement, when the session is there.
 */
export const INSERT_SESSION_WITH_TOKEN_SQL = `
  WITH new_session AS (${INSERT_SESSION_SQL})
  ${INSERT_TOKEN_SQL}`;

export const TOUCH_SESSION_SQL = `
  UPDATE sessions SET last_used_at = :now, idle_expires_at = :idleExpiresAt, ip = :ip,
         user_agent = :userAgent
  WHERE id = :id`;

// Their names as prepared statements on PostgreSQL (src/database/statements.ts).
const FIND_TOKEN: Statement = { name: 'identity_find_token', sql: FIND_TOKEN_SQL };
const CLAIM: Statement = { name: 'identity_claim_token', sql: CLAIM_SQL };
const INSERT_TOKEN: Statement = { name: 'identity_insert_token', sql: INSERT_TOKEN_SQL };
const INSERT_SESSION: Statement = { name: 'identity_insert_session', sql: INSERT_SESSION_SQL };
const INSERT_SESSION_WITH_TOKEN: Statement = {
  name: 'identity_insert_session_with_token',
  sql: INSERT_SESSION_WITH_TOKEN_SQL,
};
const TOUCH_SESSION: Statement = { name: 'identity_touch_session', sql: TOUCH_SESSION_SQL };

interface TokenRow extends AccountRow {
  token_id: string;
  token_rotated_at: Date | string | null;
  session_id: string;
  session_user_id: string;
  session_created_at: Date | string;
  last_used_at: Date | string;
  idle_expires_at: Date | string;
  absolute_expires_at: Date | string;
  revoked_at: Date | string | null;
  revoke_reason: Session['revokeReason'];
  user_agent: string | null;
  ip: string | null;
}

export interface PresentedToken {
  tokenId: string;
  rotatedAt: Date | null;
  session: Session;
  account: UserWithRoles;
}

/**
 * Runs the rotation's statements on a transaction's query runner. Dates are written exactly as
 * TypeORM writes them (its driver converts them per column), so the rest of the code reads the
 * rows back unchanged.
 */
export class SessionQueries {
  private readonly tokenRotatedAt: ColumnMetadata;
  private readonly tokenCreatedAt: ColumnMetadata;
  private readonly sessionLastUsedAt: ColumnMetadata;
  private readonly sessionIdleExpiresAt: ColumnMetadata;
  private readonly sessionCreatedAt: ColumnMetadata;
  private readonly sessionAbsoluteExpiresAt: ColumnMetadata;

  constructor(private readonly dataSource: DataSource) {
    this.tokenRotatedAt = this.column(RefreshToken, 'rotatedAt');
    this.tokenCreatedAt = this.column(RefreshToken, 'createdAt');
    this.sessionLastUsedAt = this.column(Session, 'lastUsedAt');
    this.sessionIdleExpiresAt = this.column(Session, 'idleExpiresAt');
    this.sessionCreatedAt = this.column(Session, 'createdAt');
    this.sessionAbsoluteExpiresAt = this.column(Session, 'absoluteExpiresAt');
  }

  async find(manager: EntityManager, tokenHash: string): Promise<PresentedToken | null> {
    const rows = (await this.run(manager, FIND_TOKEN, { tokenHash })).rows as TokenRow[];
    const [first] = rows;
    if (first === undefined) return null;
    const session = Object.assign(new Session(), {
      id: first.session_id,
      userId: first.session_user_id,
      createdAt: toDate(first.session_created_at),
      lastUsedAt: toDate(first.last_used_at),
      idleExpiresAt: toDate(first.idle_expires_at),
      absoluteExpiresAt: toDate(first.absolute_expires_at),
      revokedAt: toDateOrNull(first.revoked_at),
      revokeReason: first.revoke_reason,
      userAgent: first.user_agent,
      ip: first.ip,
    });
    return {
      tokenId: first.token_id,
      rotatedAt: toDateOrNull(first.token_rotated_at),
      session,
      account: accountFromRows(rows, first),
    };
  }

  /** True if this call rotated the token (no one else did first). */
  async claim(manager: EntityManager, tokenId: string, now: Date): Promise<boolean> {
    const result = await this.run(manager, CLAIM, {
      id: tokenId,
      now: this.value(now, this.tokenRotatedAt),
    });
    return result.affected === 1;
  }

  /** A new session (`session`, as built for the caller) and its first refresh token. */
  async insertSession(
    manager: EntityManager,
    session: Session,
    token: { id: string; tokenHash: string },
  ): Promise<void> {
    const parameters = {
      sessionId: session.id,
      userId: session.userId,
      sessionCreatedAt: this.value(session.createdAt, this.sessionCreatedAt),
      lastUsedAt: this.value(session.lastUsedAt, this.sessionLastUsedAt),
      idleExpiresAt: this.value(session.idleExpiresAt, this.sessionIdleExpiresAt),
      absoluteExpiresAt: this.value(session.absoluteExpiresAt, this.sessionAbsoluteExpiresAt),
      userAgent: session.userAgent,
      ip: session.ip,
      id: token.id,
      tokenHash: token.tokenHash,
      parentId: null,
      createdAt: this.value(session.createdAt, this.tokenCreatedAt),
    };
    if (this.dataSource.options.type === 'postgres') {
      await this.run(manager, INSERT_SESSION_WITH_TOKEN, parameters);
      return;
    }
    await this.run(manager, INSERT_SESSION, parameters);
    await this.run(manager, INSERT_TOKEN, parameters);
  }

  /** A refresh token of a session: the successor of `parentId`, or a first one (null). */
  async insertToken(
    manager: EntityManager,
    token: { id: string; sessionId: string; tokenHash: string; parentId: string | null; now: Date },
  ): Promise<void> {
    await this.run(manager, INSERT_TOKEN, {
      id: token.id,
      sessionId: token.sessionId,
      tokenHash: token.tokenHash,
      parentId: token.parentId,
      createdAt: this.value(token.now, this.tokenCreatedAt),
    });
  }

  async touchSession(
    manager: EntityManager,
    session: Pick<Session, 'id' | 'lastUsedAt' | 'idleExpiresAt' | 'ip' | 'userAgent'>,
  ): Promise<void> {
    await this.run(manager, TOUCH_SESSION, {
      id: session.id,
      now: this.value(session.lastUsedAt, this.sessionLastUsedAt),
      idleExpiresAt: this.value(session.idleExpiresAt, this.sessionIdleExpiresAt),
      ip: session.ip,
      userAgent: session.userAgent,
    });
  }

  private async run(
    manager: EntityManager,
    statement: Statement,
    parameters: ObjectLiteral,
  ): Promise<StatementResult<unknown>> {
    if (manager.queryRunner === undefined)
      throw new Error('session statements run in a transaction');
    return runStatement(this.dataSource, manager, statement, parameters);
  }

  private value(date: Date, column: ColumnMetadata): unknown {
    return this.dataSource.driver.preparePersistentValue(date, column);
  }

  private column(entity: typeof Session | typeof RefreshToken, property: string): ColumnMetadata {
    const column = this.dataSource.getMetadata(entity).findColumnWithPropertyName(property);
    if (column === undefined) throw new Error(`no column ${property}`);
    return column;
  }
}
