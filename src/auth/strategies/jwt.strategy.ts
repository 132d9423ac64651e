import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { DomainError } from '../../common/errors/domain-error';
import { Clock } from '../../common/clock/clock';
import { AuthStateReader } from '../auth-state.reader';
import { isSessionLive } from '../sessions/sessions.service';
import type { AuthenticatedUser } from '../authenticated-user';
import { AccessTokenService } from '../tokens/access-token.service';
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
    const claims = this.accessTokens.verify(token);
    const state = await this.authState.load(claims.sub, claims.sid);
    const now = this.clock.now();
    const session = state?.session;
    const user = state?.account.user;
    const changedAt = user?.passwordChangedAt;
    if (
      state === null ||
      user === undefined ||
      !user.isActive ||
      (changedAt && claims.iat <= Math.floor(changedAt.getTime() / 1000)) ||
      session === null ||
      session === undefined ||
      session.userId !== user.id ||
      !isSessionLive(session, now)
    ) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return {
      id: user.id,
      username: user.username,
      roles: state.account.roles,
      tokenId: claims.jti,
      sessionId: claims.sid,
      account: state.account,
    };
  }
}
