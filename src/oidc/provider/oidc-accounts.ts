import { Injectable } from '@nestjs/common';
import type { Account, AccountClaims, FindAccount } from 'oidc-provider';
import { mustEnrolSecondFactor } from '../../auth/mfa/second-factor-policy';
import { AppConfig } from '../../config/app-config';
import type { Session } from '../../sessions/session.entity';
import { proofOf, SessionsService } from '../../sessions/sessions.service';
import { UsersService } from '../../users/users.service';
import { providerRequestContext } from './request-context';

/** What a sign-in on the interaction pages hands the provider beside its login: our session. */
export interface SignInIdentity {
  identity: { sessionId: string };
}

/** The token models whose session we check; `sessionUid` names the provider session. */
interface SessionBound {
  kind?: string;
  sessionUid?: string;
  /** A refresh token already rotated: when (seconds), as the adapter reads it. */
  consumed?: number;
  clientId?: string;
}

/**
 * The provider's view of our accounts and sessions: one identity, one revocation model (SPEC
 * §10). A provider session is tied to the session our sign-in started (sessions.oidc_session_uid);
 * whatever the provider issues for it lives only while that session does, so logout,
 * deactivation, password change and session revocation end it like any other.
 */
@Injectable()
export class OidcAccounts {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly config: AppConfig,
  ) {}

  /** oidc-provider's findAccount: an active user, and, for a user's token, its live session. */
  readonly findAccount: FindAccount = async (ctx, sub, token) => {
    const account = await this.users.findWithRoles(sub);
    if (account === null || !account.user.isActive) return undefined;
    const uid = (token as SessionBound | undefined)?.sessionUid ?? ctx.oidc.session?.uid;
    const signedIn = (ctx.oidc.result as Partial<SignInIdentity> | undefined)?.identity;
    if (token === undefined && uid !== undefined && signedIn !== undefined) {
      // The sign-in on our pages just finished (its result names the session it started): the
      // provider's session, now made, is tied to ours before anything is issued for it.
      await this.sessions.linkOidcSession(signedIn.sessionId, uid);
    }
    if (uid !== undefined) {
      const session = await this.sessions.liveForOidcSession(uid);
      if (session === null || session.userId !== sub) return undefined;
      const bound = token as SessionBound | undefined;
      if (bound?.kind === 'RefreshToken') {
        if (bound.consumed !== undefined) {
          // A rotated refresh token again: refused, and after the grace window the session
          // ends with everything issued in it (oidc-provider alone would revoke one grant).
          await this.sessions.oidcRefreshTokenReused(
            session,
            new Date(bound.consumed * 1000),
            { clientId: bound.clientId },
            providerRequestContext(ctx),
          );
          return undefined;
        }
        // A refresh is a use of the session: its idle expiry moves on as a rotation's would.
        await this.sessions.recordOidcUse(session, providerRequestContext(ctx));
      }
    }
    const { user, roles } = account;
    return {
      accountId: user.id,
      claims: (): AccountClaims => ({
        sub: user.id,
        preferred_username: user.username,
        email: user.email,
        email_verified: user.emailVerifiedAt !== null,
        roles: [...roles],
      }),
    } satisfies Account;
  };

  /**
   * Claims an access token for the API carries beyond the provider's: what our guard reads
   * (`sid`, `roles`, `amr`, `mfa_time`, `mfa_enrolment`), from the live session of its sign-in.
   * None when there is no such session: the guard then refuses the token.
   */
  async apiTokenClaims(
    sessionUid: string | undefined,
    accountId: string | undefined,
  ): Promise<Record<string, unknown> | undefined> {
    if (sessionUid === undefined || accountId === undefined) return undefined;
    const [session, account] = await Promise.all([
      this.sessions.liveForOidcSession(sessionUid),
      this.users.findWithRoles(accountId),
    ]);
    if (session === null || account === null || session.userId !== accountId) return undefined;
    const proof = proofOf(session);
    return {
      sid: session.id,
      roles: account.roles,
      amr: proof.amr,
      ...(proof.mfaAt === null ? {} : { mfa_time: Math.floor(proof.mfaAt.getTime() / 1000) }),
      ...(mustEnrolSecondFactor(this.config.mfa, account.roles, proof.mfaAt)
        ? { mfa_enrolment: true }
        : {}),
    };
  }

  /** Whether our session tied to provider session `uid` still lets `accountId` in. */
  async sessionLive(uid: string, accountId: string): Promise<boolean> {
    const session = await this.sessions.liveForOidcSession(uid);
    return session !== null && session.userId === accountId;
  }

  /** The live session tied to provider session `uid`, if any. */
  sessionOf(uid: string): Promise<Session | null> {
    return this.sessions.liveForOidcSession(uid);
  }
}
