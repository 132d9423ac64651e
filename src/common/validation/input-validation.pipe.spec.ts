import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldWithNul } from './input-validation.pipe';

describe('fieldWithNul', () => {
  it('names the first string holding a NUL character, however deep', () => {
    assert.equal(fieldWithNul({ username: 'a\0b' }, ''), 'username');
    assert.equal(fieldWithNul({ profile: { names: ['ok', 'x\0'] } }, ''), 'profile.names.1');
    assert.equal(fieldWithNul('id\0', 'id'), 'id');
  });

  it('passes text without one, and what is not text', () => {
    assert.equal(fieldWithNul({ username: 'alice', age: 3, flag: null, list: [] }, ''), undefined);
    assert.equal(fieldWithNul('\\u0000 as typed, not a NUL', 'q'), undefined);
    assert.equal(fieldWithNul(undefined, ''), undefined);
  });
});
