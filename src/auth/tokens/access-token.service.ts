import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock/clock';
import { DomainError } from '../../common/errors/domain-error';
import { AppConfig } from '../../config/app-config';
import type { RoleName } from '../../users/entities/role.entity';
import { JwsHeader, signJws, verifyJws } from './jws';

/** Header `typ` of our access tokens (RFC 9068), so no other JWT can stand in for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

// Tolerated clock difference between instances for `iat` (and `nbf`) in the future.
const CLOCK_SKEW_SECONDS = 60;

export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  roles: RoleName[];
  iat: number;
  exp: number;
  jti: string;
}

@Injectable()
export class AccessTokenService {
  /**
   * Tokens whose signature and claims were verified, with their claims: a client sends the
   * same token on every request for its lifetime, and checking an HMAC or a signature again
   * costs more than the rest of the check. Keyed by the token's signature segment (a Map hashes
   * its key on every lookup: 43 characters for HS256 instead of the whole ~330-character
   * token), and the whole token is compared before its claims are used, so only a token that
   * verified once can be found; expiry is checked again on every use. Bounded like the
   * auth-state cache, and off with it (AUTH_CACHE_TTL=0).
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
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
    };
    const header: JwsHeader = { alg: jwt.algorithm, typ: ACCESS_TOKEN_TYPE };
    if (jwt.signingKid !== undefined) header.kid = jwt.signingKid;
    const token = signJws(header, { ...claims }, jwt.algorithm, jwt.signingKey);
    return { token, expiresIn: jwt.accessTokenTtlSeconds };
  }

  /**
   * Checks signature, `typ`, `iss`, `aud` and expiry at `nowSeconds` (the clock's by default);
   * throws `invalid_token` otherwise.
   */
  verify(token: string, nowSeconds = this.clock.nowSeconds()): AccessTokenClaims {
    const key = signatureOf(token);
    const known = this.verified.get(key);
    if (known?.token === token) {
      const { claims } = known;
      if (claims.exp > nowSeconds && known.notBefore <= nowSeconds + CLOCK_SKEW_SECONDS) {
        return claims;
      }
      this.verified.delete(key);
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    const { claims, notBefore } = this.verifyJws(token, nowSeconds);
    this.remember(key, { token, claims, notBefore });
    return claims;
  }

  private remember(key: string, entry: VerifiedToken): void {
    const { ttlSeconds, maxEntries } = this.config.authCache;
    if (ttlSeconds === 0) return;
    Object.freeze(entry.claims.roles);
    Object.freeze(entry.claims);
    this.verified.set(key, entry);
    for (const oldest of this.verified.keys()) {
      if (this.verified.size <= maxEntries) break;
      this.verified.delete(oldest);
    }
  }

  /**
   * The full check of a token not seen before. `iat`, `exp` and `nbf` must be integers (JSON
   * can spell numbers that are not: `1e999` is Infinity), the lifetime `exp - iat` at most
   * ACCESS_TOKEN_TTL (both come from the issuer's one clock, so no skew), and neither `iat`
   * nor `nbf` more than the clock skew in the future.
   */
  private verifyJws(token: string, now: number): { claims: AccessTokenClaims; notBefore: number } {
    const { jwt } = this.config;
    const verified = verifyJws(token, jwt.algorithm, (header) =>
      jwt.verificationKeys.get(jwt.algorithm === 'HS256' ? '' : (header.kid ?? '\0')),
    );
    const claims = verified?.payload;
    if (
      verified === undefined ||
      claims === undefined ||
      verified.header.typ !== ACCESS_TOKEN_TYPE ||
      claims.iss !== jwt.issuer ||
      !audienceMatches(claims.aud, jwt.audience) ||
      typeof claims.sub !== 'string' ||
      typeof claims.sid !== 'string' ||
      typeof claims.jti !== 'string' ||
      !Array.isArray(claims.roles) ||
      !Number.isSafeInteger(claims.iat) ||
      !Number.isSafeInteger(claims.exp) ||
      (claims.nbf !== undefined && !Number.isSafeInteger(claims.nbf))
    ) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    const iat = claims.iat as number;
    const exp = claims.exp as number;
    const notBefore = Math.max(iat, (claims.nbf as number | undefined) ?? iat);
    if (
      exp <= now ||
      exp <= iat ||
      exp - iat > jwt.accessTokenTtlSeconds ||
      notBefore > now + CLOCK_SKEW_SECONDS
    ) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return { claims: claims as unknown as AccessTokenClaims, notBefore };
  }
}

interface VerifiedToken {
  token: string;
  claims: AccessTokenClaims;
  /** The later of `iat` and `nbf`: the token is refused while it is in the future. */
  notBefore: number;
}

/** The last segment of a compact JWS (the whole string if it has no dot). */
function signatureOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

function audienceMatches(aud: unknown, expected: string): boolean {
  return aud === expected || (Array.isArray(aud) && aud.includes(expected));
}
