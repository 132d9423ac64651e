import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestLogEntry } from './request-log';

describe('request log entry', () => {
  it('keeps the path and drops the query string and headers', () => {
    const entry = requestLogEntry({
      id: 'r1',
      method: 'GET',
      url: '/api/v1/users/me?access_token=secret-token',
      ip: '127.0.0.1',
    });
    assert.deepEqual(entry, { id: 'r1', method: 'GET', url: '/api/v1/users/me', ip: '127.0.0.1' });
    assert.doesNotMatch(JSON.stringify(entry), /secret-token/);
  });
});
