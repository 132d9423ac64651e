import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalEmail,
  canonicalLoginName,
  canonicalUsername,
  hasInvisibleCharacters,
  USERNAME_PATTERN,
} from './canonical-identity';

describe('canonical identity', () => {
  it('lower-cases and NFKC-normalises usernames', () => {
    assert.equal(canonicalUsername('Alice'), 'alice');
    assert.equal(canonicalUsername('\uff21\uff4c\uff49\uff43\uff45'), 'alice'); // fullwidth
  });

  it('keeps invisible characters so the pattern rejects them', () => {
    const withZeroWidth = canonicalUsername('ali\u200bce');
    assert.equal(USERNAME_PATTERN.test(withZeroWidth), false);
    assert.equal(hasInvisibleCharacters('ali\u200bce'), true);
    assert.equal(hasInvisibleCharacters('alice'), false);
  });

  it('trims and lower-cases emails', () => {
    assert.equal(canonicalEmail('  Alice@Example.COM '), 'alice@example.com');
  });

  it('treats a login name with @ as an email', () => {
    assert.deepEqual(canonicalLoginName('Alice@Example.com'), {
      kind: 'email',
      value: 'alice@example.com',
    });
    assert.deepEqual(canonicalLoginName('ALICE'), { kind: 'username', value: 'alice' });
  });
});
