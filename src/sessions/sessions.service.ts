import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import type { RequestContext } from '../common/request-context';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { type Transaction, Transactions } from '../database/database';
import type { UserWithRoles } from '../users/account-rows';
import { Session, SessionRevokeReason } from './session.entity';
import { AccountEvents } from '../users/account-events';
import { SessionsRepository } from './sessions.repository';
import { Metrics } from '../metrics/metrics.service';
import { PASSWORD_ONLY, type SignInProof } from '../access/sign-in-proof';

export interface IssuedSession {
  session: Session;
  refreshToken: string;
}

/** A rotation also returns the session's user with roles, for the new access token. */
export interface RotatedSession extends IssuedSession {
  account: UserWithRoles;
}

const INVALID_REFRESH = 'The refresh token is invalid, expired or revoked';

/** The one definition of a live session: not revoked, not idle-expired, not past its end. */
export function isSessionLive(
  session: Pick<Session, 'revokedAt' | 'idleExpiresAt' | 'absoluteExpiresAt'>,
  now: Date,
): boolean {
  const nowMs = now.getTime();
  return (
    session.revokedAt === null &&
    session.idleExpiresAt.getTime() > nowMs &&
    session.absoluteExpiresAt.getTime() > nowMs
  );
}

/** How the session's user proved who they are (its `amr`), as its access tokens carry it. */
export function proofOf(session: Pick<Session, 'amr' | 'mfaAt'>): SignInProof {
  const amr = (session.amr ?? '').split(',').filter((method) => method !== '');
  // Sessions from before second factors were stored: a password login.
  return { amr: amr.length === 0 ? [...PASSWORD_ONLY.amr] : amr, mfaAt: session.mfaAt };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** 256 random bits, base64url: opaque to clients, stored only as its hash. */
function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);

  constructor(
    private readonly repository: SessionsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    accountEvents: AccountEvents,
    private readonly metrics: Metrics,
  ) {
    // A deactivated account's sessions end in the transaction that deactivates it.
    accountEvents.subscribe(async (tx, event) => {
      await this.revokeAllForUser(event.userId, 'user_deactivated', { tx });
    });
  }

  /**
   * Starts a session for a user who has just proved who they are (`proof`: how), from `client`;
   * inside `outer` when given.
   */
  start(
    userId: string,
    client: RequestContext,
    proof: SignInProof = PASSWORD_ONLY,
    outer?: Transaction,
  ): Promise<IssuedSession> {
    return this.transactions.run(async (tx) => {
      const now = this.clock.now();
      const absoluteExpiresAt = this.after(now, this.config.refresh.absoluteTtlSeconds);
      const session = Object.assign(new Session(), {
        id: randomUUID(),
        userId,
        createdAt: now,
        lastUsedAt: now,
        idleExpiresAt: this.idleExpiry(now, absoluteExpiresAt),
        absoluteExpiresAt,
        revokedAt: null,
        revokeReason: null,
        userAgent: client.userAgent,
        ip: client.ip,
        amr: proof.amr.join(','),
        mfaAt: proof.mfaAt,
      });
      const refreshToken = newRefreshToken();
      await this.repository.insertSession(tx, session, {
        id: randomUUID(),
        tokenHash: hashRefreshToken(refreshToken),
      });
      await this.audit.record(
        tx,
        {
          type: 'auth.login_succeeded',
          actorId: userId,
          subjectUserId: userId,
          details: { sessionId: session.id, amr: proof.amr },
        },
        client,
      );
      return { session, refreshToken };
    }, outer);
  }

  /**
   * A second factor proven again in a live session (step-up): the session's `amr` and `mfa_at`
   * change and its unused refresh token is replaced (the new pair carries the new proof).
   * `invalid_token` if the session ended meanwhile.
   */
  async recordSecondFactor(
    tx: Transaction,
    sessionId: string,
    proof: SignInProof & { mfaAt: Date },
  ): Promise<string> {
    const recorded = await this.repository.recordSecondFactor(tx, sessionId, {
      amr: proof.amr.join(','),
      mfaAt: proof.mfaAt,
    });
    if (!recorded) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return this.replaceRefreshToken(tx, sessionId);
  }

  /**
   * Exchanges a refresh token for a new one. Only an unrotated token can be rotated, by a
   * conditional update, so of several concurrent requests exactly one wins. A token rotated
   * within the grace window (another tab was faster) is refused but the session lives; after
   * it, presenting a rotated token means someone holds a copy: the session is revoked.
   */
  async rotate(presented: string, client: RequestContext): Promise<RotatedSession> {
    const tokenHash = hashRefreshToken(presented);
    const outcome = await this.transactions.run(async (tx) => {
      const token = await this.repository.findPresentedToken(tx, tokenHash);
      if (token === null) return { kind: 'invalid' as const };
      const now = this.clock.now();
      const { session, account } = token;
      if (!this.isLive(session, now)) return { kind: 'invalid' as const };

      if (token.rotatedAt !== null) {
        if (this.withinReuseGrace(token.rotatedAt, now)) return { kind: 'invalid' as const };
        await this.revokeForReuse(tx, session, { tokenId: token.tokenId }, client, now);
        return { kind: 'reuse' as const, session };
      }

      if (!account.user.isActive) return { kind: 'invalid' as const };
      if (!(await this.repository.claimToken(tx, token.tokenId, now))) {
        return { kind: 'invalid' as const };
      }

      const refreshToken = newRefreshToken();
      await this.repository.insertToken(tx, {
        id: randomUUID(),
        sessionId: session.id,
        tokenHash: hashRefreshToken(refreshToken),
        parentId: token.tokenId,
        now,
      });
      session.lastUsedAt = now;
      session.idleExpiresAt = this.idleExpiry(now, session.absoluteExpiresAt);
      session.ip = client.ip;
      session.userAgent = client.userAgent;
      await this.repository.touchSession(tx, session);
      return { kind: 'rotated' as const, session, refreshToken, account };
    });

    this.metrics.refresh(outcome.kind === 'reuse' ? 'reuse_detected' : outcome.kind);
    switch (outcome.kind) {
      case 'rotated':
        return {
          session: outcome.session,
          refreshToken: outcome.refreshToken,
          account: outcome.account,
        };
      case 'reuse':
        this.warnOfReuse(outcome.session, client);
        throw new DomainError('invalid_refresh_token', INVALID_REFRESH);
      case 'invalid':
        throw new DomainError('invalid_refresh_token', INVALID_REFRESH);
    }
  }

  /** The session an access token names, if it is still live and belongs to `userId`. */
  async findLive(sessionId: string, userId: string): Promise<Session | null> {
    const session = await this.repository.findSession(sessionId);
    return session !== null && session.userId === userId && this.isLive(session, this.clock.now())
      ? session
      : null;
  }

  /** The user's live sessions, most recently used first. */
  listLive(userId: string): Promise<Session[]> {
    return this.repository.findLive(userId, this.clock.now());
  }

  /** Ends the session an access token belongs to. */
  async logout(userId: string, sessionId: string, context: RequestContext): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.repository.revoke(tx, { sessionId, userId }, 'logout', this.clock.now());
      await this.audit.record(
        tx,
        {
          type: 'auth.logout',
          actorId: userId,
          subjectUserId: userId,
          details: { sessionId },
        },
        context,
      );
    });
  }

  /** Ends every session of the user. */
  async logoutAll(userId: string, context: RequestContext): Promise<void> {
    await this.transactions.run(async (tx) => {
      const revoked = await this.revokeAllForUser(userId, 'logout_all', { tx });
      await this.audit.record(
        tx,
        {
          type: 'auth.logout_all',
          actorId: userId,
          subjectUserId: userId,
          details: { revoked },
        },
        context,
      );
    });
  }

  /** Revokes one of the user's own live sessions; someone else's (or a dead one) is 404. */
  async revokeOwn(userId: string, sessionId: string, context: RequestContext): Promise<void> {
    await this.transactions.run(async (tx) => {
      const revoked = await this.repository.revoke(
        tx,
        { sessionId, userId },
        'revoked_by_user',
        this.clock.now(),
      );
      if (revoked === 0) throw new DomainError('session_not_found', 'No such session');
      await this.audit.record(
        tx,
        {
          type: 'session.revoked',
          actorId: userId,
          subjectUserId: userId,
          details: { sessionId },
        },
        context,
      );
    });
  }

  /** Revokes every live session of a user, except `keep` when given. */
  async revokeAllForUser(
    userId: string,
    reason: SessionRevokeReason,
    options: { keep?: string; tx?: Transaction } = {},
  ): Promise<number> {
    return this.repository.revoke(
      options.tx,
      { userId, exceptSessionId: options.keep },
      reason,
      this.clock.now(),
    );
  }

  /**
   * Replaces every unused refresh token of a session with a fresh one (after a password change
   * the old token must not work). Deleted rather than marked rotated: presenting an old one is
   * then just invalid, not a reuse that would kill the session the user is still in.
   */
  async replaceRefreshToken(tx: Transaction, sessionId: string): Promise<string> {
    await this.repository.deleteUnrotatedTokens(tx, sessionId);
    const refreshToken = newRefreshToken();
    await this.repository.insertToken(tx, {
      id: randomUUID(),
      sessionId,
      tokenHash: hashRefreshToken(refreshToken),
      parentId: null,
      now: this.clock.now(),
    });
    return refreshToken;
  }

  /**
   * The live session a sign-in on the OIDC interaction pages started for provider session
   * `uid` (src/oidc): what the provider's tokens of that sign-in live and die with.
   */
  async liveForOidcSession(uid: string): Promise<Session | null> {
    const session = await this.repository.findByOidcSession(uid);
    return session !== null && this.isLive(session, this.clock.now()) ? session : null;
  }

  /** Ties session `sessionId` to provider session `uid` (once the provider has made it). */
  linkOidcSession(sessionId: string, uid: string): Promise<void> {
    return this.transactions.run((tx) =>
      this.repository.linkOidcSession(tx, sessionId, uid, this.clock.now()),
    );
  }

  /**
   * A use of the session through the provider (a refresh grant): like a rotation here, it moves
   * the idle expiry on, so an app that keeps refreshing keeps its session.
   */
  async recordOidcUse(session: Session, client: RequestContext): Promise<void> {
    const now = this.clock.now();
    await this.transactions.run((tx) =>
      this.repository.touchSession(tx, {
        id: session.id,
        lastUsedAt: now,
        idleExpiresAt: this.idleExpiry(now, session.absoluteExpiresAt),
        ip: client.ip,
        userAgent: client.userAgent,
      }),
    );
  }

  /**
   * An OpenID Provider refresh token of `session` presented again after its rotation at
   * `rotatedAt`: within the grace window (another tab was faster) it is only refused; after it,
   * someone holds a copy, and the whole session is revoked as for our own refresh tokens (SPEC
   * §4), with the same audit event.
   */
  async oidcRefreshTokenReused(
    session: Session,
    rotatedAt: Date,
    details: { clientId: string | undefined },
    client: RequestContext,
  ): Promise<void> {
    const now = this.clock.now();
    if (this.withinReuseGrace(rotatedAt, now)) return;
    const revoked = await this.transactions.run((tx) =>
      this.revokeForReuse(tx, session, { via: 'oidc', clientId: details.clientId }, client, now),
    );
    if (!revoked) return;
    this.metrics.refresh('reuse_detected');
    this.warnOfReuse(session, client);
  }

  /** A rotated token presented this soon after its rotation is a race between tabs, not a copy. */
  private withinReuseGrace(rotatedAt: Date, now: Date): boolean {
    return now.getTime() - rotatedAt.getTime() < this.config.refresh.reuseGraceSeconds * 1000;
  }

  /**
   * Revokes the session of a reused refresh token and audits it, once: of concurrent detections
   * only the one whose update revoked it records the event. Whether it did.
   */
  private async revokeForReuse(
    tx: Transaction,
    session: Session,
    details: Record<string, unknown>,
    client: RequestContext,
    now: Date,
  ): Promise<boolean> {
    const revoked = await this.repository.revoke(
      tx,
      { sessionId: session.id },
      'refresh_token_reuse',
      now,
    );
    if (revoked === 0) return false;
    await this.audit.record(
      tx,
      {
        type: 'session.refresh_token_reused',
        actorId: null,
        subjectUserId: session.userId,
        details: { sessionId: session.id, ...details },
      },
      client,
    );
    return true;
  }

  private warnOfReuse(session: Session, client: RequestContext): void {
    this.logger.warn(
      `Refresh token reuse: session ${session.id} of user ${session.userId} revoked`,
      { requestId: client.requestId, userId: session.userId },
    );
  }

  /** Seconds until the session expires from idleness (or its absolute end, if sooner). */
  secondsLeft(session: Session): number {
    return Math.max(
      0,
      Math.floor((session.idleExpiresAt.getTime() - this.clock.now().getTime()) / 1000),
    );
  }

  private isLive(session: Session, now: Date): boolean {
    return isSessionLive(session, now);
  }

  private idleExpiry(now: Date, absoluteExpiresAt: Date): Date {
    const idle = this.after(now, this.config.refresh.idleTtlSeconds);
    return idle < absoluteExpiresAt ? idle : absoluteExpiresAt;
  }

  private after(date: Date, seconds: number): Date {
    return new Date(date.getTime() + seconds * 1000);
  }
}
