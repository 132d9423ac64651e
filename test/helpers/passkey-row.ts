import { randomUUID } from 'node:crypto';
import type { Passkey } from '../../src/mfa/entities/passkey.entity';

/**
 * A webauthn_credentials row as the passkey routes store one, for tests that need a user with a
 * passkey without a browser ceremony (what a reset or a removal must count or delete).
 */
export function passkeyRow(userId: string): Partial<Passkey> {
  return {
    id: randomUUID(),
    userId,
    credentialId: randomUUID(),
    publicKey: 'pQECAyYgASFYIA',
    signCount: 0,
    transports: 'internal',
    deviceType: 'multiDevice',
    backedUp: true,
    aaguid: null,
    name: 'Laptop',
    lastUsedAt: null,
  };
}
