import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock/clock';
import { DomainError } from '../../common/errors/domain-error';
import { AppConfig } from '../../config/app-config';
import type { RoleName } from '../../access/role-name';
import { PASSWORD_ONLY, type SignInProof } from '../../access/sign-in-proof';
import { type AccessTokenClaims, acceptedClaims } from './access-token-checks';

export { ACCESS_TOKEN_TYPE, type AccessTokenClaims } from './access-token-checks';

/**
 * Issues and verifies access tokens through JwtService (options: jwt-options.ts). The bearer
 * strategy verifies through passport-jwt with the same key choice and checks
 * ({@link claimsAt}); {@link verify} is the same check for a token that did not come in a
 * request's header.
 */
@Injectable()
export class AccessTokenService {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly jwt: JwtService,
  ) {}

  /**
   * Signs an access token for a session. `notBefore` (the last password change) pushes `iat`
   * past it, so a token issued right after a change is never mistaken for an older one.
   */
  issue(subject: {
    userId: string;
    sessionId: string;
    roles: RoleName[];
    notBefore?: Date | null;
    /** How the session's user authenticated (RFC 8176 `amr`) and when a second factor was proven. */
    proof?: SignInProof;
    /** The user must enrol a second factor: the token is good only for that (JwtAuthGuard). */
    mfaEnrolment?: boolean;
  }): {
    token: string;
    expiresIn: number;
  } {
    const { jwt } = this.config;
    const notBefore = subject.notBefore ? Math.floor(subject.notBefore.getTime() / 1000) + 1 : 0;
    const iat = Math.max(this.clock.nowSeconds(), notBefore);
    const claims: AccessTokenClaims = {
      iss: jwt.issuer,
      aud: jwt.audience,
      sub: subject.userId,
      sid: subject.sessionId,
      roles: subject.roles,
      iat,
      exp: iat + jwt.accessTokenTtlSeconds,
      jti: randomUUID(),
      amr: (subject.proof ?? PASSWORD_ONLY).amr,
    };
    const mfaAt = subject.proof?.mfaAt ?? null;
    // Never after `iat` (the checks refuse that); a step-up can't be in the future of its token.
    if (mfaAt !== null) claims.mfa_time = Math.min(Math.floor(mfaAt.getTime() / 1000), iat);
    if (subject.mfaEnrolment === true) claims.mfa_enrolment = true;
    return { token: this.jwt.sign(claims), expiresIn: jwt.accessTokenTtlSeconds };
  }

  /**
   * Checks form, signature, `typ`, `iss`, `aud` and the claims at `nowSeconds` (the clock's by
   * default); throws `invalid_token` otherwise.
   */
  verify(token: string, nowSeconds = this.clock.nowSeconds()): AccessTokenClaims {
    let payload: unknown;
    try {
      payload = this.jwt.verify<object>(token);
    } catch {
      throw invalidToken();
    }
    return this.claimsAt(payload, nowSeconds);
  }

  /** The claims of a signature-checked payload if they are acceptable at `nowSeconds`. */
  claimsAt(payload: unknown, nowSeconds: number): AccessTokenClaims {
    const claims = acceptedClaims(payload, this.config.jwt.accessTokenTtlSeconds, nowSeconds);
    if (claims === undefined) throw invalidToken();
    return claims;
  }
}

function invalidToken(): DomainError {
  return new DomainError('invalid_token', 'The access token is invalid or expired');
}
