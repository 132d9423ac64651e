import type {
  AuthenticationResponseJSON,
  RegistrationResponseJSON,
  WebAuthnCredential,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { DomainError } from '../../common/errors/domain-error';
import type { AppConfig } from '../../config/app-config';
import type { PasskeyRow } from './passkeys.repository';

/** Milliseconds a browser may take for a ceremony: the challenge's own lifetime (MFA_TOKEN_TTL). */
export function ceremonyTimeout(config: AppConfig): number {
  return config.mfa.tokenTtlSeconds * 1000;
}

/** Passkeys, like every second factor, exist only while MFA_ENABLED. */
export function assertPasskeysEnabled(config: AppConfig): void {
  if (!config.mfa.enabled) {
    throw new DomainError('feature_disabled', 'Second factors are not enabled on this service');
  }
}

/**
 * The WebAuthn user handle: the 16 bytes of the user's uuid. Stable (an authenticator keeps one
 * discoverable credential per handle and RP), opaque, and never the email or username, which
 * the spec forbids as a handle since authenticators do not protect it.
 */
export function webauthnUserId(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

/**
 * RFC 8176 `amr` of a passkey: `hwk` for a key bound to one device, `swk` for a synced one
 * (multiDevice: the key material leaves the hardware). README.md, "Second factors".
 */
export function passkeyAmr(passkey: Pick<PasskeyRow, 'deviceType'>): 'hwk' | 'swk' {
  return passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk';
}

/** The stored passkey as @simplewebauthn/server verifies an assertion with it. */
export function toWebAuthnCredential(passkey: PasskeyRow): WebAuthnCredential {
  return {
    id: passkey.credentialId,
    publicKey: isoBase64URL.toBuffer(passkey.publicKey),
    counter: passkey.signCount,
    transports: passkey.transports,
  };
}

/** The challenge a response signed (from its clientDataJSON), or null when unreadable. */
export function signedChallenge(
  response: AuthenticationResponseJSON | RegistrationResponseJSON,
): string | null {
  try {
    const text = Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8');
    const { challenge } = JSON.parse(text) as { challenge?: unknown };
    return typeof challenge === 'string' && /^[A-Za-z0-9_-]{1,256}$/.test(challenge)
      ? challenge
      : null;
  } catch {
    return null;
  }
}

/**
 * Whether `value` has the shape of a credential response (the library checks the rest and
 * throws on anything it cannot parse).
 */
export function isCredentialResponse(
  value: unknown,
): value is { id: string; rawId: string; type: string; response: { clientDataJSON: string } } {
  if (typeof value !== 'object' || value === null) return false;
  const { id, rawId, type, response } = value as Record<string, unknown>;
  return (
    typeof id === 'string' &&
    /^[A-Za-z0-9_-]{1,1400}$/.test(id) &&
    typeof rawId === 'string' &&
    type === 'public-key' &&
    typeof response === 'object' &&
    response !== null &&
    typeof (response as Record<string, unknown>).clientDataJSON === 'string'
  );
}
