import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { DomainError } from '../../common/errors/domain-error';
import { Clock } from '../../common/clock/clock';
import { type AuthState, AuthStateReader } from '../auth-state.reader';
import { isSessionLive } from '../../sessions/sessions.service';
import type { AuthenticatedUser } from '../authenticated-user';
import { type AccessTokenClaims, AccessTokenService } from '../tokens/access-token.service';
import { BearerTokenStrategy } from './bearer-token.strategy';

/**
 * Authenticates a bearer access token: signature, claims and expiry (AccessTokenService), then
 * what may have changed since it was issued: the session is live, the user exists and is active,
 * and the password was not changed after the token was issued.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(BearerTokenStrategy, 'jwt') {
  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly authState: AuthStateReader,
    private readonly clock: Clock,
  ) {
    super();
  }

  async validate(token: string): Promise<AuthenticatedUser> {
    // One reading of the clock for the whole check: the time the request is judged at.
    const now = this.clock.now();
    const claims = this.accessTokens.verify(token, Math.floor(now.getTime() / 1000));
    // Memory may only say yes: whatever it would refuse is checked against the database.
    const cached = await this.authState.cached(claims.sub, claims.sid, now);
    const state =
      cached !== undefined && this.accepts(cached, claims, now)
        ? cached
        : await this.authState.read(claims.sub, claims.sid);
    if (state === null || !this.accepts(state, claims, now)) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return {
      id: state.account.user.id,
      username: state.account.user.username,
      roles: state.account.roles,
      tokenId: claims.jti,
      sessionId: claims.sid,
      account: state.account,
    };
  }

  /**
   * What may have changed since the token was issued: the session is live and the user's, the
   * user exists and is active, and the password was not changed after the token was issued.
   */
  private accepts(
    { account: { user }, session }: AuthState,
    claims: AccessTokenClaims,
    now: Date,
  ): boolean {
    const changedAt = user.passwordChangedAt;
    return (
      user.isActive &&
      !(changedAt && claims.iat <= Math.floor(changedAt.getTime() / 1000)) &&
      session !== null &&
      session.userId === user.id &&
      isSessionLive(session, now)
    );
  }
}
