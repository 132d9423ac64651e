import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestContextOf } from './request-context';

describe('request context', () => {
  it('takes the id, address and user agent of a request', () => {
    const context = requestContextOf({
      id: 'r1',
      ip: '203.0.113.9',
      headers: { 'user-agent': 'curl/8' },
    });
    assert.deepEqual(context, { requestId: 'r1', ip: '203.0.113.9', userAgent: 'curl/8' });
  });

  it('bounds what it keeps and leaves out what is missing or repeated', () => {
    const long = requestContextOf({
      id: 'r2',
      ip: 'a'.repeat(100),
      headers: { 'user-agent': 'u'.repeat(600) },
    });
    assert.equal(long.ip?.length, 64);
    assert.equal(long.userAgent?.length, 512);
    const none = requestContextOf({
      id: 'r3',
      ip: undefined,
      headers: { 'user-agent': ['a', 'b'] },
    });
    assert.deepEqual(none, { requestId: 'r3', ip: null, userAgent: null });
    assert.equal(
      requestContextOf({ id: 'r4', ip: '', headers: { 'user-agent': '' } }).userAgent,
      null,
    );
  });
});
