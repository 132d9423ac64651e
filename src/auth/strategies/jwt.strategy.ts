import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { DomainError } from '../../common/errors/domain-error';
import { UsersService } from '../../users/users.service';
import type { AuthenticatedUser } from '../authenticated-user';
import { SessionsService } from '../sessions/sessions.service';
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
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {
    super();
  }

  async validate(token: string): Promise<AuthenticatedUser> {
    const claims = this.accessTokens.verify(token);
    const [found, session] = await Promise.all([
      this.users.findWithRoles(claims.sub),
      this.sessions.findLive(claims.sid, claims.sub),
    ]);
    const changedAt = found?.user.passwordChangedAt;
    if (
      found === null ||
      session === null ||
      !found.user.isActive ||
      (changedAt && claims.iat <= Math.floor(changedAt.getTime() / 1000))
    ) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return {
      id: found.user.id,
      username: found.user.username,
      roles: found.roles,
      tokenId: claims.jti,
      sessionId: claims.sid,
      account: found,
    };
  }
}
