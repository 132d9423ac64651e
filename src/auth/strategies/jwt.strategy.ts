import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { KeyObject } from 'node:crypto';
import { ExtractJwt, type JwtFromRequestFunction, Strategy } from 'passport-jwt';
import { DomainError } from '../../common/errors/domain-error';
import { Clock } from '../../common/clock/clock';
import { AppConfig } from '../../config/app-config';
import { AuthStateService } from '../auth-state/auth-state.service';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { AccessTokenService } from '../tokens/access-token.service';
import { VerificationKeys } from '../tokens/access-token-checks';
import { accessTokenVerifyOptions } from '../tokens/jwt-options';

/**
 * Authenticates a bearer access token with passport-jwt: from the `Authorization: Bearer`
 * header only (never the query string or body, which end up in logs), the key chosen after the
 * form checks (VerificationKeys), signature, algorithm, `iss` and `aud` by jsonwebtoken, the
 * claims at the Clock's time (AccessTokenService). Then the auth state the token names must
 * still let it through (AuthStateService: session live, user active, no password change since).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: AppConfig,
    private readonly accessTokens: AccessTokenService,
    private readonly authState: AuthStateService,
    private readonly clock: Clock,
  ) {
    const verifyOptions = accessTokenVerifyOptions(config.jwt, config.oidc);
    const verificationKeys = new VerificationKeys(config.jwt);
    super({
      // passport-jwt overwrites these of jsonWebTokenOptions with its own top-level options
      // (undefined when not given, so no issuer check at all): they go in both.
      ...verifyOptions,
      jsonWebTokenOptions: verifyOptions,
      jwtFromRequest: strictBearer(ExtractJwt.fromAuthHeaderAsBearerToken()),
      secretOrKeyProvider: (_request: unknown, token: string, done: (error: unknown) => void) => {
        const key = verificationKeys.for(token);
        if (key === undefined) done(new Error('Invalid token'));
        else (done as KeyCallback)(null, key);
      },
    });
  }

  async validate(payload: unknown): Promise<AuthenticatedUser> {
    // One reading of the clock for the whole check: the time the request is judged at.
    const now = this.clock.now();
    const claims = this.accessTokens.claimsAt(payload, Math.floor(now.getTime() / 1000));
    const state = await this.authState.current(claims, now);
    if (state === null) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return {
      id: state.account.user.id,
      username: state.account.user.username,
      roles: state.account.roles,
      tokenId: claims.jti,
      sessionId: claims.sid,
      amr: claims.amr ?? ['pwd'],
      mfaAt: claims.mfa_time === undefined ? null : new Date(claims.mfa_time * 1000),
      account: state.account,
      secondFactors: state.secondFactors,
    };
  }
}

/** passport-jwt's key callback; jsonwebtoken takes a KeyObject, which its types leave out. */
type KeyCallback = (error: Error | null, key?: KeyObject) => void;

// RFC 6750's form of the header: the scheme, spaces, one token. passport-jwt's parser takes the
// first word after any scheme-like word, so `Bearer <token> <anything>` would pass as the token.
const BEARER_HEADER = /^Bearer +[^\s]+ *$/i;

function strictBearer(extract: JwtFromRequestFunction): JwtFromRequestFunction {
  return (request) => {
    const header = (request as { headers?: Record<string, unknown> }).headers?.authorization;
    return typeof header === 'string' && BEARER_HEADER.test(header) ? extract(request) : null;
  };
}
