import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type supertest from 'supertest';
import { AuthStateSignals, AuthStateSignalStatus } from '../src/auth/auth-state/auth-state.signals';
import { createUser, loginPair, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';
import { createTestDatabase, TestDatabase } from './helpers/test-database';
import { TcpProxy, targetOf, throughProxy } from './helpers/tcp-proxy';

/**
 * PostgreSQL goes away (a TCP proxy between the service and the shared server refuses and
 * resets every connection). Whatever the request, the answer is a 503 the client may retry,
 * with Retry-After: never a 401 that makes a client drop a valid token, never a 500, never a
 * silent success. When the database is back, the same tokens work.
 */
describe('a PostgreSQL outage', () => {
  let real: TestDatabase | undefined;
  let proxy: TcpProxy | undefined;
  let t: TestApp | undefined;
  before(async () => {
    if (process.env.DATABASE_URL === undefined || process.env.DATABASE_URL === '') return;
    real = await createTestDatabase();
    const url = real.env.DATABASE_URL ?? '';
    proxy = await TcpProxy.start(targetOf(url));
    const proxied: TestDatabase = { ...real, env: { DATABASE_URL: throughProxy(url, proxy) } };
    t = await createTestApp({
      database: proxied,
      // A short heartbeat so that the cache stops answering soon after the outage begins.
      env: { AUTH_STATE_HEARTBEAT_MS: '50', AUTH_STATE_HEARTBEAT_DEADLINE_MS: '200' },
    });
  });
  after(async () => {
    await t?.close();
    await proxy?.close();
    await real?.drop();
  });

  function expectUnavailable(response: supertest.Response): void {
    assert.equal(response.status, 503, `${response.status} ${response.text}`);
    assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.match(response.headers['retry-after'] ?? '', /^[1-9][0-9]*$/);
    assert.equal(response.headers['www-authenticate'], undefined);
    const body = response.body as Record<string, unknown>;
    assert.equal(body.status, 503);
    assert.equal(body.type, 'urn:problem:identity:service-unavailable');
    // Nothing of the failure itself: no stack, no SQL, no driver message.
    assert.doesNotMatch(response.text, /SELECT|UPDATE|INSERT|at .*\.js|ECONN|terminated/i);
  }

  it(
    'answers 503 with Retry-After everywhere, and the session survives a logout tried during it',
    { timeout: 60_000 },
    async (context) => {
      if (t === undefined || proxy === undefined) {
        context.skip('PostgreSQL only: set DATABASE_URL (SQLite: the busy-lock test below)');
        return;
      }
      const app = t;
      const user = await createUser(app);
      const { access_token: token, refresh_token: refreshToken } = await loginPair(
        app,
        user.username,
      );
      const me = () => app.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);
      await me().expect(200);

      const signals = app.app.get(AuthStateSignals);
      proxy.setMode('down');
      await statusOf(signals, 'interrupted');

      expectUnavailable(await me());
      expectUnavailable(
        await app
          .http()
          .post('/api/v1/auth/login')
          .send({ username: user.username, password: TEST_PASSWORD }),
      );
      expectUnavailable(
        await app.http().post('/api/v1/auth/refresh').send({ refresh_token: refreshToken }),
      );
      expectUnavailable(
        await app
          .http()
          .post('/api/v1/auth/token')
          .type('form')
          .send({ grant_type: 'password', username: user.username, password: TEST_PASSWORD }),
      );
      expectUnavailable(
        await app
          .http()
          .post('/api/v1/auth/token')
          .type('form')
          .send({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      );
      const logout = () =>
        app.http().post('/api/v1/auth/logout').set('Authorization', `Bearer ${token}`);
      expectUnavailable(await logout());
      const ready = await app.http().get('/api/v1/health/ready');
      expectUnavailable(ready);
      assert.equal((ready.body as { checks: { database: string } }).checks.database, 'down');

      proxy.setMode('pass');
      await statusOf(signals, 'listening');
      // The logout did not happen: the session is still there, and the retried logout ends it.
      await me().expect(200);
      await logout().expect(204);
      assert.equal((await me()).status, 401);
      await app.http().get('/api/v1/health/ready').expect(200);
    },
  );
});

describe('a SQLite database locked by another process past the busy timeout', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('answers a login with 503 and Retry-After, and works once the lock is gone', async (context) => {
    const path = t.database.env.SQLITE_PATH;
    if (t.database.kind !== 'sqlite' || path === undefined) {
      context.skip('SQLite only');
      return;
    }
    const user = await createUser(t);
    const login = () =>
      t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: user.username, password: TEST_PASSWORD });
    // Another process (here: another connection) holds the write lock for longer than the
    // service's 5 s busy timeout.
    const other = openSqlite(path);
    other.exec('BEGIN EXCLUSIVE');
    try {
      const locked = await login();
      assert.equal(locked.status, 503, locked.text);
      assert.match(locked.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.match(locked.headers['retry-after'] ?? '', /^[1-9][0-9]*$/);
      assert.doesNotMatch(locked.text, /SQLITE|locked|INSERT/i);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await login().expect(200);
  });
});

interface SqliteDatabase {
  exec(sql: string): void;
  close(): void;
}

/** A second connection to the file, as another process would have (better-sqlite3 has no types). */
function openSqlite(file: string): SqliteDatabase {
  const Database = createRequire(__filename)('better-sqlite3') as new (
    file: string,
  ) => SqliteDatabase;
  return new Database(file);
}

/** Waits for `status`, at most a bounded number of changes. */
async function statusOf(signals: AuthStateSignals, status: AuthStateSignalStatus): Promise<void> {
  for (let changes = 0; signals.status !== status; changes += 1) {
    assert.ok(changes < 50, `auth-state status stays ${signals.status}, expected ${status}`);
    await signals.nextStatusChange();
  }
}
