import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  commonPasswordCount,
  normalizePassword,
  passwordLength,
  passwordPolicyViolations,
} from './password-policy';

const account = { username: 'alice', email: 'alice@example.com' };

describe('password policy', () => {
  it('accepts an ordinary passphrase with no composition rules', () => {
    assert.deepEqual(passwordPolicyViolations('plum tree harbor', account), []);
    assert.deepEqual(passwordPolicyViolations('alllowercaseletters', account), []);
  });

  it('enforces 8..128 characters counted as code points', () => {
    assert.notDeepEqual(passwordPolicyViolations('short7!', account), []);
    assert.deepEqual(
      passwordPolicyViolations('x'.repeat(8).replace('x', 'q') + 'zzz', account),
      [],
    );
    assert.deepEqual(passwordPolicyViolations('q'.repeat(127) + 'z', account), []);
    assert.match(passwordPolicyViolations('q'.repeat(128) + 'z', account)[0] ?? '', /at most 128/);
    // Eight emoji are eight characters (sixteen UTF-16 units).
    assert.equal(passwordLength('😀😁😂🤣😃😄😅😆'), 8);
    assert.deepEqual(passwordPolicyViolations('😀😁😂🤣😃😄😅😆', account), []);
    // 65 emoji are 130 UTF-16 units but only 65 characters: allowed.
    assert.deepEqual(passwordPolicyViolations('😀'.repeat(64) + '😁', account), []);
  });

  it('rejects common passwords whatever their case', () => {
    assert.ok(commonPasswordCount() >= 10_000);
    for (const common of ['password', 'PASSWORD', 'iloveyou', 'qwertyuiop', '12345678']) {
      assert.match(passwordPolicyViolations(common, account).join(), /too common/, common);
    }
  });

  it('rejects the username or email as the password, case-insensitively', () => {
    assert.match(
      passwordPolicyViolations('Alice@Example.com', account).join(),
      /same as the username or email/,
    );
    assert.match(
      passwordPolicyViolations('longusername', { username: 'longusername' }).join(),
      /same as the username or email/,
    );
  });

  it('normalises to NFKC so composed and decomposed forms are one password', () => {
    const composed = 'caf\u00e9-terrace';
    const decomposed = 'cafe\u0301-terrace';
    assert.notEqual(composed, decomposed);
    assert.equal(normalizePassword(composed), normalizePassword(decomposed));
  });
});
