import { Injectable } from '@nestjs/common';
import { IsNull, MoreThan, Not } from 'typeorm';
import {
  Database,
  type Statement,
  toDate,
  toDateOrNull,
  type Transaction,
} from '../database/database';
import { type AccountRow, accountFromRows, type UserWithRoles } from '../users/account-rows';
import { RefreshToken } from './refresh-token.entity';
import { Session, type SessionRevokeReason } from './session.entity';

// The statements of a login's new session and of a refresh-token rotation, in plain
// parameterised SQL: TypeORM's query building and entity hydration cost more than the
// statements themselves on these paths (see docs/benchmarks.md). scripts/bench/rotation-sql.mjs
// issues the rotation's: keep them in step.

/** The presented token, its session, the session's user and the user's roles (one row each). */
export const FIND_TOKEN_SQL = `
  SELECT t.id AS token_id, t.rotated_at AS token_rotated_at,
         s.id AS session_id, s.user_id AS session_user_id, s.created_at AS session_created_at,
         s.last_used_at, s.idle_expires_at, s.absolute_expires_at, s.revoked_at, s.revoke_reason,
         s.user_agent, s.ip, s.amr, s.mfa_at,
         u.id, u.username, u.email, u.is_active, u.email_verified_at, u.password_changed_at, u.created_at, u.updated_at,
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
                        absolute_expires_at, revoked_at, revoke_reason, user_agent, ip, amr, mfa_at)
  VALUES (:sessionId, :userId, :sessionCreatedAt, :lastUsedAt, :idleExpiresAt,
          :absoluteExpiresAt, NULL, NULL, :userAgent, :ip, :amr, :mfaAt)`;

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
  amr: string | null;
  mfa_at: Date | string | null;
}

/** A refresh token as a rotation sees it: with its session and the session's user. */
export interface PresentedToken {
  tokenId: string;
  rotatedAt: Date | null;
  session: Session;
  account: UserWithRoles;
}

/** A new refresh token of a session: the successor of `parentId`, or a first one (null). */
export interface NewRefreshToken {
  id: string;
  sessionId: string;
  tokenHash: string;
  parentId: string | null;
  now: Date;
}

/** Which unrevoked sessions a revocation ends: one (of `userId`, if given) or a user's all. */
export type SessionsToRevoke =
  { sessionId: string; userId?: string } | { userId: string; exceptSessionId?: string };

/**
 * Sessions and their refresh tokens. The login and rotation statements are fixed SQL (named
 * prepared statements on PostgreSQL); dates are written exactly as TypeORM writes them (its
 * per-column conversion), so the entity reads elsewhere see the rows unchanged.
 */
@Injectable()
export class SessionsRepository {
  constructor(private readonly database: Database) {}

  /** The token with this hash, its session and the session's user, or null. */
  async findPresentedToken(tx: Transaction, tokenHash: string): Promise<PresentedToken | null> {
    const { rows } = await this.database.run<TokenRow>(FIND_TOKEN, { tokenHash }, tx);
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
      amr: first.amr,
      mfaAt: toDateOrNull(first.mfa_at),
    });
    return {
      tokenId: first.token_id,
      rotatedAt: toDateOrNull(first.token_rotated_at),
      session,
      account: accountFromRows(rows, first),
    };
  }

  /** Marks the token rotated at `now`; true if this call did (no one else did first). */
  async claimToken(tx: Transaction, tokenId: string, now: Date): Promise<boolean> {
    const result = await this.database.run(
      CLAIM,
      { id: tokenId, now: this.database.columnValue(RefreshToken, 'rotatedAt', now) },
      tx,
    );
    return result.affected === 1;
  }

  /** A new session (`session`, as built for the caller) and its first refresh token. */
  async insertSession(
    tx: Transaction,
    session: Session,
    token: { id: string; tokenHash: string },
  ): Promise<void> {
    const parameters = {
      sessionId: session.id,
      userId: session.userId,
      sessionCreatedAt: this.database.columnValue(Session, 'createdAt', session.createdAt),
      lastUsedAt: this.database.columnValue(Session, 'lastUsedAt', session.lastUsedAt),
      idleExpiresAt: this.database.columnValue(Session, 'idleExpiresAt', session.idleExpiresAt),
      absoluteExpiresAt: this.database.columnValue(
        Session,
        'absoluteExpiresAt',
        session.absoluteExpiresAt,
      ),
      userAgent: session.userAgent,
      ip: session.ip,
      amr: session.amr,
      mfaAt:
        session.mfaAt === null ? null : this.database.columnValue(Session, 'mfaAt', session.mfaAt),
      id: token.id,
      tokenHash: token.tokenHash,
      parentId: null,
      createdAt: this.database.columnValue(RefreshToken, 'createdAt', session.createdAt),
    };
    if (this.database.dialect === 'postgres') {
      await this.database.run(INSERT_SESSION_WITH_TOKEN, parameters, tx);
      return;
    }
    await this.database.run(INSERT_SESSION, parameters, tx);
    await this.database.run(INSERT_TOKEN, parameters, tx);
  }

  async insertToken(tx: Transaction, token: NewRefreshToken): Promise<void> {
    await this.database.run(
      INSERT_TOKEN,
      {
        id: token.id,
        sessionId: token.sessionId,
        tokenHash: token.tokenHash,
        parentId: token.parentId,
        createdAt: this.database.columnValue(RefreshToken, 'createdAt', token.now),
      },
      tx,
    );
  }

  /** Writes a rotation's use of the session: when, the new idle expiry, from where. */
  async touchSession(
    tx: Transaction,
    session: Pick<Session, 'id' | 'lastUsedAt' | 'idleExpiresAt' | 'ip' | 'userAgent'>,
  ): Promise<void> {
    await this.database.run(
      TOUCH_SESSION,
      {
        id: session.id,
        now: this.database.columnValue(Session, 'lastUsedAt', session.lastUsedAt),
        idleExpiresAt: this.database.columnValue(Session, 'idleExpiresAt', session.idleExpiresAt),
        ip: session.ip,
        userAgent: session.userAgent,
      },
      tx,
    );
  }

  /**
   * Records a second factor proven in a live session (step-up): its methods and when. False if
   * the session is no longer live (revoked meanwhile).
   */
  async recordSecondFactor(
    tx: Transaction,
    sessionId: string,
    proof: { amr: string; mfaAt: Date },
  ): Promise<boolean> {
    const result = await this.database
      .manager(tx)
      .update(
        Session,
        { id: sessionId, revokedAt: IsNull() },
        { amr: proof.amr, mfaAt: proof.mfaAt },
      );
    return (result.affected ?? 0) === 1;
  }

  /** Deletes the session's unrotated refresh tokens (rotated ones stay, for reuse detection). */
  async deleteUnrotatedTokens(tx: Transaction, sessionId: string): Promise<void> {
    await this.database.manager(tx).delete(RefreshToken, { sessionId, rotatedAt: IsNull() });
  }

  findSession(sessionId: string): Promise<Session | null> {
    return this.database.manager().getRepository(Session).findOneBy({ id: sessionId });
  }

  /** The user's sessions live at `now`, most recently used first. */
  findLive(userId: string, now: Date): Promise<Session[]> {
    return this.database
      .manager()
      .getRepository(Session)
      .find({
        where: {
          userId,
          revokedAt: IsNull(),
          idleExpiresAt: MoreThan(now),
          absoluteExpiresAt: MoreThan(now),
        },
        order: { lastUsedAt: 'DESC', id: 'ASC' },
      });
  }

  /** Revokes the unrevoked sessions `which` names; how many it revoked. */
  async revoke(
    tx: Transaction | undefined,
    which: SessionsToRevoke,
    reason: SessionRevokeReason,
    now: Date,
  ): Promise<number> {
    const where =
      'sessionId' in which
        ? { id: which.sessionId, ...(which.userId === undefined ? {} : { userId: which.userId }) }
        : {
            userId: which.userId,
            ...(which.exceptSessionId === undefined ? {} : { id: Not(which.exceptSessionId) }),
          };
    const result = await this.database
      .manager(tx)
      .update(Session, { ...where, revokedAt: IsNull() }, { revokedAt: now, revokeReason: reason });
    return result.affected ?? 0;
  }

  /**
   * The unrevoked session a sign-in on the OIDC interaction pages started for provider session
   * `uid`: at most one (linking revokes the others), whatever their creation times.
   */
  findByOidcSession(uid: string): Promise<Session | null> {
    return this.database
      .manager()
      .getRepository(Session)
      .findOne({
        where: { oidcSessionUid: uid, revokedAt: IsNull() },
        order: { createdAt: 'DESC', id: 'ASC' },
      });
  }

  /**
   * Ties a session to provider session `uid`. A live session tied to it before (an earlier
   * sign-in in the same browser) is revoked as `replaced`: one provider session, one of ours.
   */
  async linkOidcSession(tx: Transaction, sessionId: string, uid: string, now: Date): Promise<void> {
    const manager = this.database.manager(tx);
    await manager.update(
      Session,
      { oidcSessionUid: uid, id: Not(sessionId), revokedAt: IsNull() },
      { revokedAt: now, revokeReason: 'replaced' },
    );
    await manager.update(Session, { id: sessionId }, { oidcSessionUid: uid });
  }
}
