import { createHmac, KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import type { JwtAlgorithm } from '../../config/signing-keys';

/**
 * JWS compact serialisation (RFC 7515) over node:crypto, for the four algorithms the service
 * can be configured with. jsonwebtoken has no EdDSA and jose's HMAC path is ~10x slower; the
 * framing is small enough to own, and the tests check it against jose in both directions.
 */
export interface JwsHeader {
  alg: string;
  typ?: string;
  kid?: string;
  [name: string]: unknown;
}

/** Tokens longer than this are refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;

export function signJws(
  header: JwsHeader,
  payload: Record<string, unknown>,
  algorithm: JwtAlgorithm,
  key: KeyObject,
): string {
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${createSignature(input, algorithm, key).toString('base64url')}`;
}

/**
 * Verifies the signature with the pinned algorithm and the key `resolveKey` picks from the
 * header. Returns undefined for anything malformed, unsigned, differently signed or unknown.
 *
 * Every segment must be written exactly as `signJws` writes it: the signature in canonical
 * base64url (no padding, nothing outside the alphabet, zero unused low bits), the header and
 * payload as the base64url of `JSON.stringify` of their own parsed value. So one token has
 * one spelling: no duplicate member names (JSON.parse would keep the last), no numbers that
 * parse to something else (`1e999` is Infinity), no invalid UTF-8, no other bits that a
 * decoder drops but the signature covers.
 */
export function verifyJws(
  token: string,
  algorithm: JwtAlgorithm,
  resolveKey: (header: JwsHeader) => KeyObject | undefined,
): { header: JwsHeader; payload: Record<string, unknown> } | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const signature = Buffer.from(encodedSignature, 'base64url');
  if (signature.toString('base64url') !== encodedSignature) return undefined;
  const header = decodeCanonicalObject(encodedHeader);
  // The algorithm is pinned by configuration: `none`, another algorithm or extensions we do not
  // understand (`crit`) are refused before any key is chosen.
  if (header === undefined || header.alg !== algorithm || 'crit' in header) return undefined;
  const key = resolveKey(header as JwsHeader);
  if (key === undefined) return undefined;
  const input = `${encodedHeader}.${encodedPayload}`;
  if (!checkSignature(input, signature, algorithm, key)) return undefined;
  const payload = decodeCanonicalObject(encodedPayload);
  return payload === undefined ? undefined : { header: header as JwsHeader, payload };
}

function createSignature(input: string, algorithm: JwtAlgorithm, key: KeyObject): Buffer {
  switch (algorithm) {
    case 'HS256':
      return createHmac('sha256', key).update(input).digest();
    case 'EdDSA':
      return sign(null, Buffer.from(input), key);
    case 'ES256':
      return sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', Buffer.from(input), key);
  }
}

function checkSignature(
  input: string,
  signature: Buffer,
  algorithm: JwtAlgorithm,
  key: KeyObject,
): boolean {
  try {
    switch (algorithm) {
      case 'HS256': {
        if (key.type !== 'secret') return false;
        const expected = createHmac('sha256', key).update(input).digest();
        return signature.length === expected.length && timingSafeEqual(signature, expected);
      }
      case 'EdDSA':
        return (
          key.asymmetricKeyType === 'ed25519' && verify(null, Buffer.from(input), key, signature)
        );
      case 'ES256':
        return (
          key.asymmetricKeyType === 'ec' &&
          signature.length === 64 &&
          verify('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 'RS256':
        return (
          key.asymmetricKeyType === 'rsa' && verify('sha256', Buffer.from(input), key, signature)
        );
    }
  } catch {
    return false;
  }
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The JSON object `part` encodes, if `part` is exactly how {@link encode} writes it. */
function decodeCanonicalObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      encode(value) === part
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
