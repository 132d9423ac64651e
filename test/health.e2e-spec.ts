import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisConnection } from '../src/abuse/redis.provider';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';
import { TcpProxy, targetOf, throughProxy } from './helpers/tcp-proxy';

interface Readiness {
  status: string;
  checks: { database: string; authState: string; redis: string };
}

/**
 * Readiness (SPEC §11) is red only for what stops the service from answering correctly: the
 * database, and the auth-state listener while the cache is on (test/outage.e2e-spec.ts and
 * test/auth-state-cache.e2e-spec.ts). Redis is optional: without it rate limits fail open to
 * in-process counters, so a Redis outage is reported but keeps the instance in rotation.
 */
describe('readiness', () => {
  it('reports every check while all is well', async () => {
    const t = await createTestApp();
    try {
      const response = await t.http().get('/api/v1/health/ready').expect(200);
      assert.match(response.headers['content-type'] ?? '', /^application\/json/);
      const body = response.body as Readiness;
      assert.equal(body.status, 'ok');
      assert.equal(body.checks.database, 'up');
      assert.equal(body.checks.authState, t.database.kind === 'sqlite' ? 'version' : 'listening');
      assert.equal(body.checks.redis, process.env.REDIS_URL ? 'up' : 'not_configured');
    } finally {
      await t.close();
    }
  });

  it('stays ready while the configured Redis refuses connections, and says so', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      await t.http().get('/api/v1/health/live').expect(200);
      const ready = await t.http().get('/api/v1/health/ready');
      assert.equal(ready.status, 200, ready.text);
      const body = ready.body as Readiness;
      assert.equal(body.status, 'ok');
      assert.equal(body.checks.redis, 'down');
      // And the service serves: logins and bearer routes work on in-process limits.
      const { token } = await createUserWithToken(t);
      await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('readiness while a working Redis goes away', () => {
  let proxy: TcpProxy | undefined;
  let t: TestApp | undefined;
  before(async () => {
    const redisUrl = process.env.REDIS_URL;
    if (redisUrl === undefined || redisUrl === '') return;
    proxy = await TcpProxy.start(targetOf(redisUrl));
    t = await createTestApp({ env: { REDIS_URL: throughProxy(redisUrl, proxy) } });
  });
  after(async () => {
    await t?.close();
    await proxy?.close();
  });

  it('reports Redis down and back while staying ready', async (context) => {
    if (t === undefined || proxy === undefined) {
      context.skip('needs REDIS_URL (a real Redis behind a proxy)');
      return;
    }
    const app = t;
    const readiness = async () => {
      const response = await app.http().get('/api/v1/health/ready');
      assert.equal(response.status, 200, response.text);
      return (response.body as Readiness).checks.redis;
    };
    const redis = app.app.get(RedisConnection).client;
    assert.ok(redis !== null);
    // A getter: TypeScript would narrow it as if it could not change.
    const status = (): string => redis.status;
    assert.equal(await readiness(), 'up');

    proxy.setMode('down');
    for (let attempt = 0; status() === 'ready'; attempt += 1) {
      assert.ok(attempt < 100, 'the Redis client never noticed');
      await new Promise((resolve) => redis.once('close', resolve));
    }
    assert.equal(await readiness(), 'down');

    proxy.setMode('pass');
    for (let attempt = 0; status() !== 'ready'; attempt += 1) {
      assert.ok(attempt < 100, 'the Redis client never came back');
      await new Promise((resolve) => redis.once('ready', resolve));
    }
    assert.equal(await readiness(), 'up');
  });
});
