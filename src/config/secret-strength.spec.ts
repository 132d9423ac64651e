import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { secretProblem } from './secret-strength';

describe('secretProblem', () => {
  it('accepts every random key of 32 bytes or more, as hex, base64 or base64url', () => {
    for (let draw = 0; draw < 2000; draw++) {
      const bytes = randomBytes(32 + (draw % 33));
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        assert.equal(secretProblem('KEY', bytes.toString(encoding)), undefined, encoding);
      }
    }
  });

  it('accepts shorter random material that still makes 32 characters (16 bytes as hex, UUIDs)', () => {
    for (let draw = 0; draw < 2000; draw++) {
      assert.equal(secretProblem('KEY', randomBytes(16).toString('hex')), undefined);
      assert.equal(secretProblem('KEY', randomUUID()), undefined);
    }
  });

  it("refuses the review's examples and other patterns, naming the variable", () => {
    for (const weak of [
      'a'.repeat(32),
      'changeme'.repeat(4),
      'changeme'.repeat(16),
      'ChangeMe!'.repeat(4),
      'password'.repeat(4) + '1',
      'secret'.repeat(5) + '12',
      'abcdefghijklmnopqrstuvwxyz012345',
      '0123456789'.repeat(4),
      'aaaaaaaabbbbbbbbccccccccdddddddd',
      '0'.repeat(31) + '1',
      'ab'.repeat(16) + 'X',
    ]) {
      const problem = secretProblem('AUDIT_KEY', weak);
      assert.match(problem ?? '', /^AUDIT_KEY: too predictable/, weak);
    }
  });

  it('refuses fewer than 32 bytes, counting UTF-8 bytes', () => {
    assert.match(
      secretProblem('KEY', randomBytes(15).toString('hex')) ?? '',
      /^KEY: must be at least 32 bytes/,
    );
    // 11 three-byte characters: 33 bytes, so only the estimate decides.
    assert.doesNotMatch(secretProblem('KEY', '€'.repeat(11)) ?? '', /at least 32 bytes/);
  });

  it('never puts the value in its message', () => {
    const weak = 'changeme'.repeat(4);
    assert.ok(!(secretProblem('KEY', weak) ?? '').includes('changeme'));
  });
});
