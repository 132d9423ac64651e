import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, TestApp } from './helpers/test-app';

describe('errors, request ids and health', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('answers unknown routes with a problem+json 404 that does not echo the path', async () => {
    const response = await t
      .http()
      .get('/api/v1/<script>alert(1)</script>')
      .set('Authorization', 'Bearer x');
    assert.ok([401, 404].includes(response.status));
    const anonymous = await t.http().get('/api/v1/nothing-here');
    assert.equal(anonymous.status, 404);
    assert.match(anonymous.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.ok(!anonymous.text.includes('<script>'));
    assert.ok(!JSON.stringify(anonymous.body.detail ?? '').includes('nothing-here'));
  });

  it('answers malformed JSON with a 400 problem without stack traces or library names', async () => {
    const response = await t
      .http()
      .post('/api/v1/auth/register')
      .set('Content-Type', 'application/json')
      .send('{"username": "broken"');
    assert.equal(response.status, 400);
    assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.doesNotMatch(response.text, /at \w+ \(|node_modules|fastify|SyntaxError|nest/i);
  });

  it('rejects a __proto__ key', async () => {
    const response = await t
      .http()
      .post('/api/v1/auth/register')
      .set('Content-Type', 'application/json')
      .send(
        '{"__proto__": {"isAdmin": true}, "username": "proto", "email": "proto@example.com", "password": "plum-tree-harbor-47"}',
      );
    assert.equal(response.status, 400);
  });

  it('puts a request id on every response and keeps a plain caller-supplied one', async () => {
    const generated = await t.http().get('/api/v1/content/public');
    assert.match(generated.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    const supplied = await t
      .http()
      .get('/api/v1/content/public')
      .set('X-Request-Id', 'trace-abc.123');
    assert.equal(supplied.headers['x-request-id'], 'trace-abc.123');
    const hostile = await t
      .http()
      .get('/api/v1/content/public')
      .set('X-Request-Id', 'x'.repeat(200));
    assert.match(hostile.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  it('reports liveness and readiness', async () => {
    assert.deepEqual((await t.http().get('/api/v1/health/live').expect(200)).body, {
      status: 'ok',
    });
    const ready = (await t.http().get('/api/v1/health/ready').expect(200)).body as {
      status: string;
      checks: { database: string };
    };
    assert.equal(ready.status, 'ok');
    assert.equal(ready.checks.database, 'up');
  });
});
