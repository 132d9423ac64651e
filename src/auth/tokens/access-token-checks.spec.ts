import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { sign } from 'jsonwebtoken';
import { loadSigningKeys, type SigningKeys } from '../../config/signing-keys';
import {
  ACCESS_TOKEN_TYPE,
  acceptedClaims,
  VerificationKeys,
  verificationKeyFor,
} from './access-token-checks';

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

describe('acceptedClaims: the second-factor claims', () => {
  const base = {
    sub: randomUUID(),
    sid: randomUUID(),
    jti: randomUUID(),
    roles: [],
    iat: 1000,
    exp: 1900,
  };

  it('takes amr, mfa_time up to iat and mfa_enrolment true', () => {
    const claims = { ...base, amr: ['pwd', 'otp', 'mfa'], mfa_time: 1000, mfa_enrolment: true };
    assert.deepEqual(acceptedClaims(claims, 900, 1000), claims);
  });

  it('refuses a malformed amr, an mfa_time after iat, and mfa_enrolment other than true', () => {
    for (const extra of [
      { amr: 'pwd' },
      { amr: [1] },
      { mfa_time: 1001 },
      { mfa_time: 1.5 },
      { mfa_enrolment: false },
      { mfa_enrolment: 'true' },
    ]) {
      assert.equal(
        acceptedClaims({ ...base, ...extra }, 900, 1000),
        undefined,
        JSON.stringify(extra),
      );
    }
  });
});
