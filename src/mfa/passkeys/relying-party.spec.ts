import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { isCredentialResponse, passkeyAmr, signedChallenge, webauthnUserId } from './relying-party';

const withClientData = (clientData: unknown): AuthenticationResponseJSON => ({
  id: 'abc',
  rawId: 'abc',
  type: 'public-key',
  response: {
    clientDataJSON: Buffer.from(
      typeof clientData === 'string' ? clientData : JSON.stringify(clientData),
    ).toString('base64url'),
    authenticatorData: '',
    signature: '',
  },
  clientExtensionResults: {},
});

describe('relying party helpers', () => {
  it('makes the user handle of the 16 bytes of the uuid', () => {
    const handle = webauthnUserId('0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11');
    assert.equal(handle.length, 16);
    assert.equal(Buffer.from(handle).toString('hex'), '0b6e5d1c6a344a449b7e3c1f2f5e8a11');
  });

  it('names a synced passkey swk and a device-bound one hwk (RFC 8176)', () => {
    assert.equal(passkeyAmr({ deviceType: 'multiDevice' }), 'swk');
    assert.equal(passkeyAmr({ deviceType: 'singleDevice' }), 'hwk');
  });

  it('reads the signed challenge, or null for anything unreadable', () => {
    assert.equal(signedChallenge(withClientData({ challenge: 'q1Vd3y0W_-' })), 'q1Vd3y0W_-');
    assert.equal(signedChallenge(withClientData({ challenge: 'not base64url!' })), null);
    assert.equal(signedChallenge(withClientData({ challenge: 7 })), null);
    assert.equal(signedChallenge(withClientData('{not json')), null);
    assert.equal(signedChallenge(withClientData({})), null);
  });

  it('takes only the shape of a credential response', () => {
    assert.equal(isCredentialResponse(withClientData({})), true);
    assert.equal(isCredentialResponse(null), false);
    assert.equal(isCredentialResponse({ ...withClientData({}), type: 'password' }), false);
    assert.equal(isCredentialResponse({ ...withClientData({}), id: 'a'.repeat(1401) }), false);
    assert.equal(isCredentialResponse({ ...withClientData({}), response: {} }), false);
  });
});
