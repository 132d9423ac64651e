import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { EnvironmentVariables } from './environment';
import { MIN_SECRET_BYTES, secretProblem } from './secret-strength';
import { type PublicJwk, type SigningKeys, thumbprint } from './signing-keys';

/** A private key the provider signs ID tokens with, and how the key set names it. */
export interface OidcSigningKey {
  key: KeyObject;
  alg: 'ES256' | 'RS256' | 'PS256';
  kid: string;
}

/** The OpenID Provider's settings (src/oidc); absent from AppConfig when it is off. */
export interface OidcSettings {
  /** `iss` of ID tokens and the base of the provider's routes (OIDC_ISSUER or PUBLIC_URL). */
  issuer: string;
  /** The API's resource indicator (RFC 8707): `${PUBLIC_URL}/api/v1`. */
  apiResource: string;
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
  /** ID-token key: the access-token key when it is asymmetric, else OIDC_SIGNING_KEY. */
  idTokenKey: OidcSigningKey;
  /** Public keys the JWKS endpoint publishes beside the access-token keys (the ID-token key under HS256). */
  extraJwks: PublicJwk[];
  /** True when a cookie or signing key was generated for this process. */
  generated: boolean;
}

/**
 * Reads the OIDC_* variables. In production the provider needs its keys; unset there (and
 * OIDC_ENABLED not `true`) it stays off, as a feature that needs secrets is until they are
 * given (OidcProviderService says so at boot; nothing insecure is accepted, so no warning).
 */
export function oidcSettings(
  env: EnvironmentVariables,
  context: { publicUrl: string; keys: SigningKeys | undefined; production: boolean },
): { settings?: OidcSettings; problems: string[] } {
  if (env.OIDC_ENABLED === false || context.keys === undefined) {
    return { problems: [] };
  }
  const { production, keys } = context;
  const cookieKeys = list(env.OIDC_COOKIE_KEYS);
  const pem = signingKeyPem(env);
  const missing: string[] = [];
  if (production && cookieKeys.length === 0) missing.push('OIDC_COOKIE_KEYS');
  if (
    production &&
    keys.algorithm === 'HS256' &&
    pem.value === undefined &&
    pem.problem === undefined
  ) {
    missing.push('OIDC_SIGNING_KEY');
  }
  if (missing.length > 0) {
    return env.OIDC_ENABLED === true
      ? {
          problems: [
            `${missing.join(' and ')}: required for the OpenID Provider when NODE_ENV=production`,
          ],
        }
      : { problems: [] };
  }
  const problems: string[] = [];
  if (pem.problem !== undefined) problems.push(pem.problem);
  for (const cookieKey of cookieKeys) {
    if (Buffer.byteLength(cookieKey, 'utf8') < MIN_SECRET_BYTES) {
      problems.push(`OIDC_COOKIE_KEYS: every key must be at least ${MIN_SECRET_BYTES} bytes`);
      break;
    }
    const weakness = production ? secretProblem('OIDC_COOKIE_KEYS', cookieKey) : undefined;
    if (weakness !== undefined) {
      problems.push(weakness);
      break;
    }
  }
  let generated = cookieKeys.length === 0;
  let idTokenKey: OidcSigningKey | undefined;
  const extraJwks: PublicJwk[] = [];
  if (keys.algorithm !== 'HS256') {
    if (pem.value !== undefined) {
      problems.push(
        `${pem.variable}: only used while JWT_ALGORITHM=HS256; the access-token key signs ID tokens`,
      );
    }
    idTokenKey = { key: keys.signingKey, alg: keys.algorithm, kid: keys.signingKid ?? '' };
  } else if (pem.value !== undefined) {
    try {
      idTokenKey = withAlgorithm(createPrivateKey(pem.value));
      if (idTokenKey === undefined) {
        problems.push(`${pem.variable}: needs an EC P-256 key or an RSA key of at least 2048 bits`);
      }
    } catch {
      problems.push(`${pem.variable}: not a PEM private key`);
    }
  } else if (pem.problem === undefined) {
    idTokenKey = withAlgorithm(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    generated = true;
  }
  if (problems.length > 0 || idTokenKey === undefined) return { problems };
  if (keys.algorithm === 'HS256') {
    const jwk = createPublicKey(idTokenKey.key).export({ format: 'jwk' });
    extraJwks.push({ ...jwk, kid: idTokenKey.kid, alg: idTokenKey.alg, use: 'sig' });
  }
  const issuer = (env.OIDC_ISSUER ?? context.publicUrl).replace(/\/+$/, '');
  return {
    settings: {
      issuer,
      apiResource: `${context.publicUrl}/api/v1`,
      cookieKeys: generated && cookieKeys.length === 0 ? [randomCookieKey()] : cookieKeys,
      idTokenKey,
      extraJwks,
      generated,
    },
    problems: [],
  };
}

function randomCookieKey(): string {
  return randomBytes(32).toString('base64url');
}

function withAlgorithm(key: KeyObject): OidcSigningKey | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  const kid = thumbprint(createPublicKey(key));
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') {
    return { key, alg: 'ES256', kid };
  }
  if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048) {
    return { key, alg: 'RS256', kid };
  }
  return undefined;
}

function signingKeyPem(env: EnvironmentVariables): {
  value?: string;
  variable: string;
  problem?: string;
} {
  const inline = env.OIDC_SIGNING_KEY.trim();
  const file = env.OIDC_SIGNING_KEY_FILE.trim();
  if (inline !== '' && file !== '') {
    return {
      variable: 'OIDC_SIGNING_KEY',
      problem: 'OIDC_SIGNING_KEY: set either OIDC_SIGNING_KEY or OIDC_SIGNING_KEY_FILE, not both',
    };
  }
  if (file !== '') {
    try {
      return { value: readFileSync(file, 'utf8'), variable: 'OIDC_SIGNING_KEY_FILE' };
    } catch {
      return {
        variable: 'OIDC_SIGNING_KEY_FILE',
        problem: 'OIDC_SIGNING_KEY_FILE: cannot read the file',
      };
    }
  }
  return inline === ''
    ? { variable: 'OIDC_SIGNING_KEY' }
    : { value: inline.replace(/\\n/g, '\n'), variable: 'OIDC_SIGNING_KEY' };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}
