import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  JsonWebKey,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MIN_SECRET_BYTES, secretProblem } from './secret-strength';

/**
 * The algorithms access tokens can be signed with: what jsonwebtoken (under @nestjs/jwt and
 * passport-jwt) supports and we allow. No EdDSA: jsonwebtoken has none (docs/decisions.md,
 * "Access tokens on @nestjs/jwt and passport-jwt"); ES256 is its replacement.
 */
export const JWT_ALGORITHMS = ['HS256', 'ES256', 'RS256', 'PS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export const MIN_JWT_SECRET_BYTES = MIN_SECRET_BYTES;
const MIN_RSA_BITS = 2048;

export interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: JwtAlgorithm;
  use: 'sig';
}

/** The keys access tokens are signed and verified with. */
export interface SigningKeys {
  algorithm: JwtAlgorithm;
  /** HMAC secret (HS256) or private key. */
  signingKey: KeyObject;
  /** `kid` header of new tokens; undefined for HS256. */
  signingKid: string | undefined;
  /** Keys a token may be verified with, by `kid` ('' for HS256's single secret). */
  verificationKeys: ReadonlyMap<string, KeyObject>;
  /** Public keys for /.well-known/jwks.json (empty for HS256). */
  jwks: PublicJwk[];
  /** True when no key was configured and one was generated for this process. */
  generated: boolean;
}

export interface SigningKeySettings {
  algorithm: JwtAlgorithm;
  secret?: string;
  privateKey?: string;
  privateKeyFile?: string;
  previousPublicKeys?: string;
  production: boolean;
}

/** Builds the signing keys; returns problems naming the variable instead of throwing. */
export function loadSigningKeys(settings: SigningKeySettings): {
  keys?: SigningKeys;
  problems: string[];
} {
  return settings.algorithm === 'HS256' ? hmacKeys(settings) : asymmetricKeys(settings);
}

function hmacKeys(settings: SigningKeySettings): { keys?: SigningKeys; problems: string[] } {
  if (settings.secret === undefined) {
    if (settings.production) {
      return {
        problems: [
          `JWT_SECRET: required when NODE_ENV=production (at least ${MIN_JWT_SECRET_BYTES} bytes)`,
        ],
      };
    }
    return { keys: hmac(createSecretKey(randomBytes(64)), true), problems: [] };
  }
  const secret = Buffer.from(settings.secret, 'utf8');
  if (secret.length < MIN_JWT_SECRET_BYTES) {
    return { problems: [`JWT_SECRET: must be at least ${MIN_JWT_SECRET_BYTES} bytes`] };
  }
  // Production also refuses a guessable one ('changeme' x 4); elsewhere any 32 bytes will do.
  const weakness = settings.production ? secretProblem('JWT_SECRET', settings.secret) : undefined;
  if (weakness !== undefined) return { problems: [weakness] };
  return { keys: hmac(createSecretKey(secret), false), problems: [] };
}

function hmac(key: KeyObject, generated: boolean): SigningKeys {
  return {
    algorithm: 'HS256',
    signingKey: key,
    signingKid: undefined,
    verificationKeys: new Map([['', key]]),
    jwks: [],
    generated,
  };
}

function asymmetricKeys(settings: SigningKeySettings): { keys?: SigningKeys; problems: string[] } {
  const { algorithm } = settings;
  const problems: string[] = [];
  if (settings.privateKey !== undefined && settings.privateKeyFile !== undefined) {
    return {
      problems: ['JWT_PRIVATE_KEY: set either JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, not both'],
    };
  }

  let privateKey: KeyObject;
  let generated = false;
  let pem: string | undefined = settings.privateKey?.replace(/\\n/g, '\n');
  if (settings.privateKeyFile !== undefined) {
    try {
      pem = readFileSync(settings.privateKeyFile, 'utf8');
    } catch {
      return { problems: ['JWT_PRIVATE_KEY_FILE: cannot read the file'] };
    }
  }
  const variable =
    settings.privateKeyFile !== undefined ? 'JWT_PRIVATE_KEY_FILE' : 'JWT_PRIVATE_KEY';
  if (pem === undefined) {
    if (settings.production) {
      return {
        problems: [
          `JWT_PRIVATE_KEY: required for JWT_ALGORITHM=${algorithm} when NODE_ENV=production`,
        ],
      };
    }
    privateKey = generatePrivateKey(algorithm as Exclude<JwtAlgorithm, 'HS256'>);
    generated = true;
  } else {
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      return { problems: [`${variable}: not a PEM private key`] };
    }
    const mismatch = keyMismatch(privateKey, algorithm);
    if (mismatch !== undefined) return { problems: [`${variable}: ${mismatch}`] };
  }

  const current = createPublicKey(privateKey);
  const previous: KeyObject[] = [];
  if (settings.previousPublicKeys !== undefined) {
    const blocks = settings.previousPublicKeys
      .replace(/\\n/g, '\n')
      .match(/-----BEGIN (RSA )?PUBLIC KEY-----[\s\S]+?-----END (RSA )?PUBLIC KEY-----/g);
    if (blocks === null)
      problems.push('JWT_PREVIOUS_PUBLIC_KEYS: expected one or more PEM public keys');
    for (const block of blocks ?? []) {
      try {
        const key = createPublicKey(block);
        const mismatch = keyMismatch(key, algorithm);
        if (mismatch === undefined) previous.push(key);
        else problems.push(`JWT_PREVIOUS_PUBLIC_KEYS: ${mismatch}`);
      } catch {
        problems.push('JWT_PREVIOUS_PUBLIC_KEYS: not a PEM public key');
      }
    }
  }
  if (problems.length > 0) return { problems };

  const verificationKeys = new Map<string, KeyObject>();
  const jwks: PublicJwk[] = [];
  for (const key of [current, ...previous]) {
    const kid = thumbprint(key);
    if (verificationKeys.has(kid)) continue;
    verificationKeys.set(kid, key);
    jwks.push({ ...key.export({ format: 'jwk' }), kid, alg: algorithm, use: 'sig' });
  }
  return {
    keys: {
      algorithm,
      signingKey: privateKey,
      signingKid: thumbprint(current),
      verificationKeys,
      jwks,
      generated,
    },
    problems: [],
  };
}

function generatePrivateKey(algorithm: Exclude<JwtAlgorithm, 'HS256'>): KeyObject {
  switch (algorithm) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
  }
}

/** Why `key` can't be used with `algorithm`, or undefined when it can. */
function keyMismatch(key: KeyObject, algorithm: JwtAlgorithm): string | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  switch (algorithm) {
    case 'ES256':
      return key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1'
        ? undefined
        : 'ES256 needs an EC P-256 key';
    case 'RS256':
    case 'PS256':
      return key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS
        ? undefined
        : `${algorithm} needs an RSA key of at least ${MIN_RSA_BITS} bits`;
    case 'HS256':
      return 'HS256 uses JWT_SECRET, not a key pair';
  }
}

/** RFC 7638 JWK thumbprint: a stable `kid` derived from the public key itself. */
export function thumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const members: Record<string, unknown> =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
