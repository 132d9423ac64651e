import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { currentRequestContext, runWithRequestContext } from './request-context';

describe('request context', () => {
  it('is empty outside a request', () => {
    assert.deepEqual(currentRequestContext(), { requestId: null, ip: null, userAgent: null });
  });

  it('follows async work started inside the request', async () => {
    const context = { requestId: 'r1', ip: '127.0.0.1', userAgent: 'ua' };
    const seen = await runWithRequestContext(context, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return currentRequestContext();
    });
    assert.deepEqual(seen, context);
  });
});
