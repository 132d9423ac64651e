import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { sign } from 'jsonwebtoken';
import { loadSigningKeys, type SigningKeys } from '../../config/signing-keys';
import { ACCESS_TOKEN_TYPE, VerificationKeys, verificationKeyFor } from './access-token-checks';

function hmacKeys(): SigningKeys {
  const { keys } = loadSigningKeys({
    algorithm: 'HS256',
    secret: 'a-test-secret-of-more-than-thirty-two-bytes',
    production: false,
  });
  assert.ok(keys);
  return keys;
}

function token(keys: SigningKeys, typ = ACCESS_TOKEN_TYPE): string {
  return sign({ sub: randomUUID(), jti: randomUUID() }, keys.signingKey, {
    algorithm: 'HS256',
    header: { alg: 'HS256', typ },
  });
}

describe('VerificationKeys', () => {
  it('answers as verificationKeyFor does, for accepted and refused tokens', () => {
    const keys = hmacKeys();
    const remembered = new VerificationKeys(keys);
    const good = token(keys);
    const wrongType = token(keys, 'JWT');
    for (let round = 0; round < 2; round++) {
      assert.equal(remembered.for(good), verificationKeyFor(good, keys));
      assert.ok(remembered.for(good));
      assert.equal(remembered.for(wrongType), undefined);
      assert.equal(remembered.for(good.split('.').slice(0, 2).join('.')), undefined);
    }
  });

  it('remembers only tokens that passed, at most maxEntries of them', () => {
    const keys = hmacKeys();
    const remembered = new VerificationKeys(keys, 2);
    remembered.for(token(keys, 'JWT'));
    remembered.for('not.a.token');
    assert.equal(remembered.size, 0);
    const [first, second, third] = [token(keys), token(keys), token(keys)];
    remembered.for(first);
    remembered.for(second);
    remembered.for(third);
    assert.equal(remembered.size, 2);
    // The oldest went first; it is checked again, with the same answer.
    assert.equal(remembered.for(first), keys.verificationKeys.get(''));
  });
});
