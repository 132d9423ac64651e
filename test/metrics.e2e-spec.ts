import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { loadAppConfig } from '../src/config/app-config';
import { createUser, createUserWithToken, loginPair, TEST_PASSWORD } from './helpers/factories';
import { parsePrometheus, type Sample, valueOf } from './helpers/prometheus';
import { createTestApp, type TestApp } from './helpers/test-app';

const TOKEN = 'metrics-scraper-token-for-the-tests-0123456789';

async function scrape(t: TestApp): Promise<Sample[]> {
  const response = await t.http().get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  assert.equal(response.status, 200, response.text);
  return parsePrometheus(response.text);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function withApp(env: Record<string, string>, use: (t: TestApp) => Promise<void>) {
  const t = await createTestApp({ env });
  try {
    await use(t);
  } finally {
    await t.close();
  }
}

describe('GET /metrics (SPEC §11)', () => {
  it('does not exist unless METRICS_TOKEN or METRICS_PORT is set', async () => {
    await withApp({}, async (t) => {
      const response = await t.http().get('/metrics');
      assert.equal(response.status, 404);
      assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    });
  });

  it('asks for METRICS_TOKEN as a bearer token, and answers the text format with it', async () => {
    await withApp({ METRICS_TOKEN: TOKEN }, async (t) => {
      const missing = await t.http().get('/metrics');
      assert.equal(missing.status, 401);
      assert.match(String(missing.headers['www-authenticate']), /^Bearer/);
      const wrong = await t.http().get('/metrics').set('Authorization', `Bearer ${TOKEN}x`);
      assert.equal(wrong.status, 401);
      // An access token of a user is no metrics token, an administrator's neither.
      const admin = await createUserWithToken(t, { roles: [RoleName.Admin] });
      await t.http().get('/metrics').set('Authorization', `Bearer ${admin.token}`).expect(401);

      const response = await t.http().get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(response.headers['cache-control'], 'no-store');
      const samples = parsePrometheus(response.text);
      for (const name of ['process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
        assert.ok(
          samples.some((sample) => sample.name === name),
          `${name} (process metrics)`,
        );
      }
      // Every outcome is there from the start, at 0.
      assert.equal(
        samples.filter((sample) => sample.name === 'identity_login_attempts_total').length,
        6,
      );
    });
  });

  it('counts login and refresh outcomes as they happen', async () => {
    await withApp({ METRICS_TOKEN: TOKEN }, async (t) => {
      const user = await createUser(t);
      const login = (username: string, password: string) =>
        t.http().post('/api/v1/auth/login').send({ username, password });
      const pair = await loginPair(t, user.username);
      await login(user.username, 'not-the-password-at-all').expect(401);
      await login('nobody-has-this-name', TEST_PASSWORD).expect(401);
      await login(user.username, 'not-the-password-at-all').expect(401);

      const refresh = (token: string) =>
        t.http().post('/api/v1/auth/refresh').send({ refresh_token: token });
      const rotated = await refresh(pair.refresh_token).expect(200);
      await refresh('not-a-refresh-token').expect(401);
      // After the grace window, the rotated token again: reuse, and its session ends.
      t.clock.advance(t.config.refresh.reuseGraceSeconds + 1);
      await refresh(pair.refresh_token).expect(401);
      await refresh((rotated.body as { refresh_token: string }).refresh_token).expect(401);

      const samples = await scrape(t);
      const logins = (outcome: string) =>
        valueOf(samples, 'identity_login_attempts_total', { outcome });
      assert.deepEqual(
        ['success', 'wrong_password', 'unknown_name', 'locked', 'inactive', 'rate_limited'].map(
          logins,
        ),
        [1, 2, 1, 0, 0, 0],
      );
      const refreshes = (outcome: string) =>
        valueOf(samples, 'identity_refresh_total', { outcome });
      assert.deepEqual(['rotated', 'reuse_detected', 'invalid'].map(refreshes), [1, 1, 2]);
    });
  });

  it('labels requests by route template and status, never by the URL typed', async () => {
    await withApp({ METRICS_TOKEN: TOKEN }, async (t) => {
      const user = await createUserWithToken(t);
      const bearer = { Authorization: `Bearer ${user.token}` };
      await t.http().get('/api/v1/users/me').set(bearer).expect(200);
      await t.http().get('/api/v1/users/me').set(bearer).expect(200);
      await t.http().get(`/api/v1/users/${user.user.id}`).set(bearer).expect(403);
      await t.http().get('/api/v1/no-such-route/12345').expect(404);

      const samples = await scrape(t);
      const count = (labels: Record<string, string>) =>
        valueOf(samples, 'http_request_duration_seconds_count', labels);
      assert.equal(count({ method: 'GET', route: '/api/v1/users/me', status_code: '200' }), 2);
      assert.equal(count({ method: 'GET', route: '/api/v1/users/:id', status_code: '403' }), 1);
      assert.equal(count({ route: 'unmatched', status_code: '404' }), 1);
      const routes = new Set(samples.map((sample) => sample.labels.route ?? ''));
      assert.ok(
        ![...routes].some((route) => route.includes(user.user.id) || route.includes('12345')),
      );
      assert.equal(
        valueOf(samples, 'http_request_duration_seconds_bucket', {
          route: '/api/v1/users/me',
          status_code: '200',
          le: '+Inf',
        }),
        2,
      );

      // The second /users/me was answered from the auth-state cache.
      assert.ok(
        valueOf(samples, 'identity_auth_state_cache_lookups_total', { result: 'hit' }) >= 1,
      );
      assert.ok(
        valueOf(samples, 'identity_auth_state_cache_lookups_total', { result: 'miss' }) >= 1,
      );
      const signal = t.database.kind === 'sqlite' ? 'version' : 'listening';
      assert.equal(valueOf(samples, 'identity_auth_state_signal', { status: signal }), 1);
      if (t.database.kind === 'postgres') {
        assert.equal(valueOf(samples, 'identity_auth_state_listener_connected'), 1);
        assert.equal(
          valueOf(samples, 'identity_db_pool_connections', { state: 'max' }),
          t.dataSource.driver.options.poolSize ?? 10,
        );
        assert.ok(valueOf(samples, 'identity_db_pool_connections', { state: 'total' }) >= 1);
      } else {
        assert.equal(valueOf(samples, 'identity_db_pool_connections'), 0);
      }
    });
  });

  it('counts rate-limit refusals and lockouts', async () => {
    await withApp(
      {
        METRICS_TOKEN: TOKEN,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_IP_PER_MINUTE: '3',
        LOCKOUT_THRESHOLD: '2',
      },
      async (t) => {
        const user = await createUser(t);
        const login = (password: string) =>
          t.http().post('/api/v1/auth/login').send({ username: user.username, password });
        await login('not-the-password-at-all').expect(401);
        await login('not-the-password-at-all').expect(401);
        await login(TEST_PASSWORD).expect(401); // locked
        await login(TEST_PASSWORD).expect(429);

        const samples = await scrape(t);
        assert.equal(valueOf(samples, 'identity_lockouts_total'), 1);
        assert.equal(valueOf(samples, 'identity_rate_limit_rejections_total', { limit: 'ip' }), 1);
        const logins = (outcome: string) =>
          valueOf(samples, 'identity_login_attempts_total', { outcome });
        assert.deepEqual(
          ['wrong_password', 'locked', 'rate_limited', 'success'].map(logins),
          [2, 1, 1, 0],
        );
      },
    );
  });

  it("counts a login refused by the account's limit, not only by the address's", async () => {
    await withApp(
      {
        METRICS_TOKEN: TOKEN,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_IP_PER_MINUTE: '100',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '2',
      },
      async (t) => {
        const user = await createUser(t);
        await loginPair(t, user.username);
        await loginPair(t, user.username);
        await t
          .http()
          .post('/api/v1/auth/login')
          .send({ username: user.username, password: TEST_PASSWORD })
          .expect(429);
        const samples = await scrape(t);
        const limited = (limit: string) =>
          valueOf(samples, 'identity_rate_limit_rejections_total', { limit });
        assert.deepEqual([limited('ip'), limited('account')], [0, 1]);
        assert.equal(
          valueOf(samples, 'identity_login_attempts_total', { outcome: 'rate_limited' }),
          1,
        );
        assert.equal(valueOf(samples, 'identity_login_attempts_total', { outcome: 'success' }), 2);
      },
    );
  });

  it("keeps two apps' counts apart in one process, each with the process metrics once", async () => {
    await withApp({ METRICS_TOKEN: TOKEN }, async (first) => {
      await withApp({ METRICS_TOKEN: TOKEN }, async (second) => {
        const user = await createUser(first);
        await loginPair(first, user.username);
        const [one, two] = [await scrape(first), await scrape(second)];
        const success = { outcome: 'success' };
        assert.equal(valueOf(one, 'identity_login_attempts_total', success), 1);
        assert.equal(valueOf(two, 'identity_login_attempts_total', success), 0);
        for (const samples of [one, two]) {
          const cpu = samples.filter((sample) => sample.name === 'process_cpu_user_seconds_total');
          assert.equal(cpu.length, 1);
        }
      });
    });
  });

  it('serves them on METRICS_PORT instead, and nowhere else', async () => {
    const port = await freePort();
    await withApp({ METRICS_PORT: String(port), HOST: '127.0.0.1' }, async (t) => {
      await t.http().get('/metrics').expect(404);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.ok(parsePrometheus(await response.text()).length > 0);
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/users/me`)).status, 404);
    });
    // With METRICS_TOKEN too, the port asks for it.
    await withApp(
      { METRICS_PORT: String(port), METRICS_TOKEN: TOKEN, HOST: '127.0.0.1' },
      async () => {
        const refused = await fetch(`http://127.0.0.1:${port}/metrics`);
        assert.equal(refused.status, 401);
        assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/);
        const allowed = await fetch(`http://127.0.0.1:${port}/metrics`, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(allowed.status, 200);
      },
    );
    // Closed with the app.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  });

  it('refuses a guessable METRICS_TOKEN in production, and METRICS_PORT equal to PORT', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: 'pT3x9QvLw2Zr8Kd5Ys1Hb7Nc4Mf6Gj0Ra2Ue8Wi3Oq5Tl',
      AUDIT_KEY: 'Hq7Vn2Xc9Lp4Zt6Rb1Md8Kf3Ws5Yj0Ge2Ua7Oi4Tn9Sx',
      MFA_ENCRYPTION_KEY: '7f3c9a1e5b2d8f4a6c0e9b3d7a1f5c2e8b4d6a0f3c9e1b7d5a2f8c4e6b0d3a9f',
      EMAIL_VERIFICATION: 'off',
      PASSWORD_RESET_ENABLED: 'false',
    };
    assert.throws(
      () => loadAppConfig({ ...production, METRICS_TOKEN: 'metrics' }),
      /METRICS_TOKEN: must be at least 32 bytes/,
    );
    assert.equal(loadAppConfig({ ...production, METRICS_TOKEN: TOKEN }).metrics.token, TOKEN);
    assert.throws(
      () => loadAppConfig({ PORT: '4000', METRICS_PORT: '4000' }),
      /METRICS_PORT: must differ from PORT/,
    );
  });
});
