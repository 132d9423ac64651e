import type { KeyObject } from 'node:crypto';
import type { SigningKeys } from '../../config/signing-keys';
import type { RoleName } from '../../access/role-name';

/**
 * The checks that stay around jsonwebtoken (SPEC §4): what it does not check itself. Pure
 * functions, so JwtService (AccessTokenService.verify) and passport-jwt (JwtStrategy) run the
 * same ones. No cryptography here: base64url and JSON are decoded only to inspect the form.
 * Why each one: docs/decisions.md, "Token form checks around jsonwebtoken".
 */

/** Header `typ` of our access tokens (RFC 9068), so no other JWT can stand in for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Tokens longer than this are refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;

/** Tolerated clock difference between instances for `iat` (and `nbf`) in the future. */
export const CLOCK_SKEW_SECONDS = 60;

export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  roles: RoleName[];
  iat: number;
  exp: number;
  jti: string;
  /** How the user authenticated (RFC 8176: `pwd`, `otp`, `hwk`, `swk`); absent on older tokens. */
  amr?: string[];
  /** When a second factor was last proven in the session (seconds), if ever. */
  mfa_time?: number;
  /**
   * Present (true) when the user holds a role of MFA_REQUIRED_FOR_ROLES and the session has no
   * second factor: the token is good only on `@AllowMfaEnrolment()` routes.
   */
  mfa_enrolment?: true;
}

/**
 * The key to check `token`'s signature with, or undefined when the token is refused before
 * any signature check: too long, not three segments, a segment not written exactly as the
 * signer writes it (so one token has one spelling: no duplicate member names, other number
 * forms, invalid UTF-8, padding or dropped bits), a header `alg` other than the configured one
 * (`none`, algorithm confusion), another `typ`, `crit`, or a `kid` naming no key of ours.
 * HS256 has one secret and ignores `kid`; `jwk`, `jku`, `x5u` and `x5c` are never looked at.
 */
export function verificationKeyFor(token: string, keys: SigningKeys): KeyObject | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  if (
    encodedSignature.length === 0 ||
    Buffer.from(encodedSignature, 'base64url').toString('base64url') !== encodedSignature
  ) {
    return undefined;
  }
  const header = decodeCanonicalObject(encodedHeader);
  if (
    header === undefined ||
    header.alg !== keys.algorithm ||
    header.typ !== ACCESS_TOKEN_TYPE ||
    'crit' in header ||
    decodeCanonicalObject(encodedPayload) === undefined
  ) {
    return undefined;
  }
  if (keys.algorithm === 'HS256') return keys.verificationKeys.get('');
  return typeof header.kid === 'string' ? keys.verificationKeys.get(header.kid) : undefined;
}

/**
 * {@link verificationKeyFor}, remembered per token: the form checks are a pure function of the
 * token and the configured keys, and a client sends the same token with every request for its
 * lifetime. Only tokens that passed are kept (bounded, oldest first); the signature and the
 * claims are still checked on every request (docs/decisions.md, "Token form checks around
 * jsonwebtoken").
 */
export class VerificationKeys {
  private readonly known = new Map<string, KeyObject>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly maxEntries = 10_000,
  ) {}

  for(token: string): KeyObject | undefined {
    const known = this.known.get(token);
    if (known !== undefined) return known;
    const key = verificationKeyFor(token, this.keys);
    if (key === undefined) return undefined;
    this.known.set(token, key);
    if (this.known.size > this.maxEntries) {
      this.known.delete(this.known.keys().next().value as string);
    }
    return key;
  }

  get size(): number {
    return this.known.size;
  }
}

/**
 * The claims of a token whose signature, `iss` and `aud` jsonwebtoken has checked, if they are
 * acceptable at `now` (seconds of the injected Clock; jsonwebtoken would use Date.now(), so
 * its own `exp`/`nbf` checks are off). `iat`, `exp` and `nbf` must be integers (JSON can spell
 * numbers that are not: `1e999` is Infinity), the lifetime `exp - iat` at most `ttlSeconds`
 * (both come from the issuer's one clock, so no skew), and neither `iat` nor `nbf` more than
 * the clock skew in the future.
 */
export function acceptedClaims(
  payload: unknown,
  ttlSeconds: number,
  now: number,
): AccessTokenClaims | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const claims = payload as Record<string, unknown>;
  const { iat, exp, nbf } = claims;
  if (
    typeof claims.sub !== 'string' ||
    typeof claims.sid !== 'string' ||
    typeof claims.jti !== 'string' ||
    !Array.isArray(claims.roles) ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(exp) ||
    (nbf !== undefined && !Number.isSafeInteger(nbf)) ||
    (claims.amr !== undefined &&
      (!Array.isArray(claims.amr) || !claims.amr.every((method) => typeof method === 'string'))) ||
    (claims.mfa_time !== undefined &&
      (!Number.isSafeInteger(claims.mfa_time) || (claims.mfa_time as number) > (iat as number))) ||
    (claims.mfa_enrolment !== undefined && claims.mfa_enrolment !== true)
  ) {
    return undefined;
  }
  const issuedAt = iat as number;
  const expiresAt = exp as number;
  const notBefore = Math.max(issuedAt, (nbf as number | undefined) ?? issuedAt);
  if (
    expiresAt <= now ||
    expiresAt <= issuedAt ||
    expiresAt - issuedAt > ttlSeconds ||
    notBefore > now + CLOCK_SKEW_SECONDS
  ) {
    return undefined;
  }
  return claims as unknown as AccessTokenClaims;
}

/** The JSON object `part` encodes, if `part` is exactly base64url(JSON.stringify(it)). */
function decodeCanonicalObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Buffer.from(JSON.stringify(value)).toString('base64url') === part
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
