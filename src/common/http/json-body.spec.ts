import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exceedsJsonDepth } from './json-body';

const depth = (text: string, max: number): boolean => exceedsJsonDepth(Buffer.from(text), max);

describe('JSON depth check', () => {
  it('counts objects and arrays', () => {
    assert.equal(depth('{"a":{"b":[1,{"c":[]}]}}', 5), false);
    assert.equal(depth('{"a":{"b":[1,{"c":[]}]}}', 4), true);
    assert.equal(depth('[[[]]]', 3), false);
    assert.equal(depth('[[[[]]]]', 3), true);
    assert.equal(depth('1', 0), false);
  });

  it('counts siblings once', () => {
    assert.equal(depth(`[${'{},'.repeat(1000)}{}]`, 2), false);
  });

  it('skips brackets inside strings, escaped quotes included', () => {
    assert.equal(depth('{"a":"{{{{[[[["}', 1), false);
    assert.equal(depth('{"a":"\\"{{{{","b":"\\\\"}', 1), false);
    assert.equal(depth('{"a":"\\\\","b":{"c":{}}}', 2), true);
  });

  it('reads UTF-8 text', () => {
    assert.equal(depth('{"名前":"{{é}}","b":[["😀"]]}', 3), false);
  });
});
