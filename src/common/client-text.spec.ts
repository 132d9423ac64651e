import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanDetails, clientText, DETAIL_TEXT_MAX } from './client-text';

describe('clientText', () => {
  it('replaces C0, DEL, C1 and line separators with U+FFFD', () => {
    assert.equal(
      clientText('a\r\nb\u0000c\u007Fd\u0085e\u2028f\tg', 100),
      'a\uFFFD\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFDg',
    );
  });

  it('bounds by code points, never splitting a surrogate pair, and repairs lone surrogates', () => {
    assert.equal(clientText('😀'.repeat(10), 3), '😀😀😀');
    assert.equal(clientText('a\uD800b', 10), 'a\uFFFDb');
    assert.equal(clientText('x'.repeat(1_000_000), 5), 'xxxxx');
  });

  it('keeps ordinary text and maps empty to null', () => {
    assert.equal(
      clientText('Mozilla/5.0 (X11; Linux) ünïcödé', 512),
      'Mozilla/5.0 (X11; Linux) ünïcödé',
    );
    assert.equal(clientText('', 10), null);
    assert.equal(clientText(null, 10), null);
    assert.equal(clientText(undefined, 10), null);
  });
});

describe('cleanDetails', () => {
  it('cleans strings at any depth, keys included, and leaves other values alone', () => {
    assert.deepEqual(
      cleanDetails({ 'k\n': ['v\r', 1, true, null, { deep: 'z'.repeat(DETAIL_TEXT_MAX + 9) }] }),
      { 'k\uFFFD': ['v\uFFFD', 1, true, null, { deep: 'z'.repeat(DETAIL_TEXT_MAX) }] },
    );
  });
});
