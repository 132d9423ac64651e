import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadAppConfig } from '../config/app-config';
import { MfaSecretBox } from './mfa-secret-box';

function box(key: string, previous: string[] = []): MfaSecretBox {
  return new MfaSecretBox(
    loadAppConfig({
      NODE_ENV: 'test',
      MFA_ENCRYPTION_KEY: key,
      MFA_PREVIOUS_ENCRYPTION_KEYS: previous.join(','),
    }),
  );
}

describe('MfaSecretBox', () => {
  const keyA = randomBytes(32).toString('hex');
  const keyB = randomBytes(32).toString('base64url');

  it('opens what it sealed, and never shows the plaintext in the sealed value', () => {
    const sealed = box(keyA).seal('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 'user-1');
    assert.doesNotMatch(sealed, /JBSWY3DP/);
    assert.equal(box(keyA).open(sealed, 'user-1'), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  });

  it('seals the same secret differently every time (a fresh IV)', () => {
    const a = box(keyA);
    assert.notEqual(a.seal('secret', 'user-1'), a.seal('secret', 'user-1'));
  });

  it('refuses a value bound to another user, altered, or under a key it does not have', () => {
    const a = box(keyA);
    const sealed = a.seal('secret', 'user-1');
    assert.throws(() => a.open(sealed, 'user-2'));
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    assert.throws(() => a.open(parts.join('.'), 'user-1'));
    assert.throws(() => box(keyB).open(sealed, 'user-1'), /unknown format or encryption key/);
  });

  it('refuses a shortened authentication tag (GCM would check only its first bytes)', () => {
    const a = box(keyA);
    const parts = a.seal('secret', 'user-1').split('.');
    parts[4] = Buffer.from(parts[4] ?? '', 'base64url')
      .subarray(0, 4)
      .toString('base64url');
    assert.throws(() => a.open(parts.join('.'), 'user-1'));
  });

  it('opens values of a previous key and says they need sealing again', () => {
    const sealed = box(keyA).seal('secret', 'user-1');
    const rotated = box(keyB, [keyA]);
    assert.equal(rotated.open(sealed, 'user-1'), 'secret');
    assert.equal(rotated.sealedUnderEarlierKey(sealed), true);
    assert.equal(rotated.sealedUnderEarlierKey(rotated.seal('secret', 'user-1')), false);
  });

  it('is refused a key that is not 32 bytes', () => {
    assert.throws(() => box('abcd'), /MFA_ENCRYPTION_KEY: must be 32 bytes/);
  });
});
