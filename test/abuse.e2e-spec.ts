import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import type { Response } from 'supertest';
import { PasswordHasher } from '../src/passwords/password-hasher.service';
import { RoleName } from '../src/access/role-name';
import { User } from '../src/users/entities/user.entity';
import { createUser, createUserWithToken, loginToken, TEST_PASSWORD } from './helpers/factories';
import { stableHeaders } from './helpers/http';
import { createTestApp, TestApp } from './helpers/test-app';

const login = (
  t: TestApp,
  username: string,
  password: string,
  headers: Record<string, string> = {},
) => t.http().post('/api/v1/auth/login').set(headers).send({ username, password });

function assertRateLimited(response: Response): void {
  assert.equal(response.status, 429, JSON.stringify(response.body));
  assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
  const retryAfter = Number(response.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${response.headers['retry-after']}`);
}

describe('rate limits', () => {
  describe('per client IP', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({
        env: {
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_IP_PER_MINUTE: '4',
          RATE_LIMIT_ACCOUNT_PER_MINUTE: '100',
        },
      });
    });
    after(async () => {
      await t.close();
    });

    it('answers 429 with Retry-After past the limit, and a spoofed X-Forwarded-For changes nothing', async () => {
      for (let attempt = 0; attempt < 4; attempt++) {
        assert.equal((await login(t, `someone${attempt}`, 'wrong-password-1')).status, 401);
      }
      assertRateLimited(await login(t, 'someone-else', 'wrong-password-1'));
      // Without TRUST_PROXY the header is not believed: still the same bucket.
      assertRateLimited(
        await login(t, 'someone-else', 'wrong-password-1', { 'X-Forwarded-For': '203.0.113.9' }),
      );
      // The limit covers the other abuse-prone endpoints of the same address too.
      assertRateLimited(await t.http().post('/api/v1/auth/refresh').send({ refresh_token: 'x' }));
      assertRateLimited(await t.http().post('/api/v1/auth/register').send({}));
      assertRateLimited(
        await t
          .http()
          .post('/api/v1/auth/token')
          .type('form')
          .send('grant_type=password&username=a&password=b'),
      );
      // Routes without a limit are unaffected.
      await t.http().get('/api/v1/content/public').expect(200);
    });
  });

  describe('behind a trusted proxy', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({
        env: {
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_IP_PER_MINUTE: '2',
          RATE_LIMIT_ACCOUNT_PER_MINUTE: '100',
          TRUST_PROXY: '127.0.0.1',
        },
      });
    });
    after(async () => {
      await t.close();
    });

    it('counts per forwarded client address', async () => {
      const from = (ip: string) => ({ 'X-Forwarded-For': ip });
      await login(t, 'a', 'wrong-password-1', from('198.51.100.1')).expect(401);
      await login(t, 'a', 'wrong-password-1', from('198.51.100.1')).expect(401);
      assertRateLimited(await login(t, 'a', 'wrong-password-1', from('198.51.100.1')));
      await login(t, 'a', 'wrong-password-1', from('198.51.100.2')).expect(401);
    });
  });

  describe('per account name', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({
        env: {
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_IP_PER_MINUTE: '1000',
          RATE_LIMIT_ACCOUNT_PER_MINUTE: '3',
        },
      });
    });
    after(async () => {
      await t.close();
    });

    it('shares one bucket between case and Unicode variants of a name', async () => {
      await login(t, 'alice', 'wrong-password-1').expect(401);
      await login(t, 'ALICE', 'wrong-password-1').expect(401);
      await login(t, '\uff41\uff4c\uff49\uff43\uff45', 'wrong-password-1').expect(401); // fullwidth
      assertRateLimited(await login(t, 'Alice', 'wrong-password-1'));
      assertRateLimited(
        await t
          .http()
          .post('/api/v1/auth/token')
          .type('form')
          .send('grant_type=password&username=aLiCe&password=x'),
      );
      await login(t, 'bob', 'wrong-password-1').expect(401);
    });
  });

  describe('per account, whichever of its names is typed', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({
        env: {
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_IP_PER_MINUTE: '1000',
          RATE_LIMIT_ACCOUNT_PER_MINUTE: '10',
          // Lockout out of the way: this counts the limiter alone.
          LOCKOUT_THRESHOLD: '100',
        },
      });
    });
    after(async () => {
      await t.close();
    });

    it('alternating username and email gets at most 10 attempts past a limit of 10', async () => {
      const user = await createUser(t);
      const hasher = t.app.get(PasswordHasher);
      const verify = mock.method(hasher, 'verify');
      try {
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 20; attempt++) {
          const name = attempt % 2 === 0 ? user.username : user.email.toUpperCase();
          const response =
            attempt % 4 === 3
              ? await t
                  .http()
                  .post('/api/v1/auth/token')
                  .type('form')
                  .send({ grant_type: 'password', username: name, password: 'wrong-password-1' })
              : await login(t, name, 'wrong-password-1');
          statuses.push(response.status);
          if (response.status === 429) assertRateLimited(response);
        }
        assert.equal(statuses.filter((status) => status !== 429).length, 10, statuses.join());
        // Limited attempts cost no password check.
        assert.equal(verify.mock.callCount(), 10);
      } finally {
        verify.mock.restore();
      }
      // Another account's bucket is its own.
      const other = await createUser(t);
      await login(t, other.email, TEST_PASSWORD).expect(200);
    });
  });

  describe('across instances', () => {
    const redisUrl = process.env.REDIS_URL ?? '';
    let first: TestApp;
    let second: TestApp;
    before(async () => {
      if (redisUrl === '') return;
      const env = {
        REDIS_URL: redisUrl,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_IP_PER_MINUTE: '1000',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '4',
        RATE_LIMIT_KEY_PREFIX: `test:shared:${Date.now()}:${Math.random().toString(36).slice(2)}`,
      };
      first = await createTestApp({ env });
      second = await createTestApp({ env, database: first.database });
    });
    after(async () => {
      await second?.close();
      await first?.close();
    });

    it(
      'two instances on one Redis and one database share the counters',
      { skip: redisUrl === '' ? 'REDIS_URL not set' : false },
      async () => {
        await login(first, 'carol', 'wrong-password-1').expect(401);
        await login(second, 'carol', 'wrong-password-1').expect(401);
        await login(first, 'carol', 'wrong-password-1').expect(401);
        await login(second, 'carol', 'wrong-password-1').expect(401);
        assertRateLimited(await login(first, 'carol', 'wrong-password-1'));
        assertRateLimited(await login(second, 'carol', 'wrong-password-1'));
      },
    );
  });
});

describe('account lockout', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createUserWithToken>>;
  before(async () => {
    t = await createTestApp({
      env: { LOCKOUT_THRESHOLD: '3', LOCKOUT_BASE_SECONDS: '60', LOCKOUT_MAX_SECONDS: '900' },
    });
    admin = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
  });
  after(async () => {
    await t.close();
  });

  const row = (id: string) => t.dataSource.getRepository(User).findOneByOrFail({ id });

  it('locks after the threshold; while locked the right password answers exactly like a wrong one', async () => {
    const user = await createUser(t);
    const wrong = await login(t, user.username, 'wrong-password-1');
    await login(t, user.username, 'wrong-password-1').expect(401);
    await login(t, user.username, 'wrong-password-1').expect(401);
    const locked = await row(user.user.id);
    assert.ok(locked.lockedUntil !== null);
    assert.equal(Math.round((locked.lockedUntil.getTime() - t.clock.now().getTime()) / 1000), 60);

    const whileLocked = await login(t, user.username, TEST_PASSWORD);
    assert.equal(whileLocked.status, wrong.status);
    assert.deepEqual(whileLocked.body, wrong.body);
    assert.deepEqual(stableHeaders(whileLocked), stableHeaders(wrong));

    // Attempts during the lock neither extend it nor count.
    t.clock.advance(30);
    await login(t, user.username, 'wrong-password-1').expect(401);
    const still = await row(user.user.id);
    assert.equal(still.lockedUntil?.getTime(), locked.lockedUntil.getTime());
    assert.equal(still.failedLoginCount, 3);

    // After the lock, the right password works and resets the count.
    t.clock.advance(31);
    await login(t, user.username, TEST_PASSWORD).expect(200);
    const reset = await row(user.user.id);
    assert.equal(reset.failedLoginCount, 0);
    assert.equal(reset.lockedUntil, null);
  });

  it('grows the lock with every further failure, up to the maximum', async () => {
    const user = await createUser(t);
    const durations: number[] = [];
    for (let failure = 1; failure <= 8; failure++) {
      await login(t, user.username, 'wrong-password-1').expect(401);
      const current = await row(user.user.id);
      if (current.lockedUntil !== null && current.lockedUntil > t.clock.now()) {
        const seconds = Math.round(
          (current.lockedUntil.getTime() - t.clock.now().getTime()) / 1000,
        );
        durations.push(seconds);
        t.clock.advance(seconds + 1);
      }
    }
    assert.deepEqual(durations, [60, 120, 240, 480, 900, 900]);
  });

  it('allows far fewer than 100 counted failures per hour on one account', async () => {
    const user = await createUser(t);
    const start = t.clock.now().getTime();
    let attempts = 0;
    while (t.clock.now().getTime() - start < 3600 * 1000) {
      await login(t, user.username, 'wrong-password-1').expect(401);
      attempts++;
      const current = await row(user.user.id);
      const lockedFor =
        current.lockedUntil === null ? 0 : current.lockedUntil.getTime() - t.clock.now().getTime();
      t.clock.advance(Math.max(1, Math.ceil(lockedFor / 1000)));
    }
    const counted = (await row(user.user.id)).failedLoginCount;
    assert.ok(
      counted <= 100 && counted < 20,
      `${counted} counted failures in an hour (${attempts} attempts)`,
    );
  });

  it('an admin can unlock; others cannot', async () => {
    // Earlier tests moved the clock by hours: the admin needs a fresh access token.
    const adminToken = await loginToken(t, admin.username);
    const user = await createUser(t);
    for (let i = 0; i < 3; i++) await login(t, user.username, 'wrong-password-1').expect(401);
    await login(t, user.username, TEST_PASSWORD).expect(401);
    const plain = await createUserWithToken(t);
    await t
      .http()
      .post(`/api/v1/users/${user.user.id}/unlock`)
      .set('Authorization', `Bearer ${plain.token}`)
      .expect(403);
    await t
      .http()
      .post(`/api/v1/users/${user.user.id}/unlock`)
      .set('Authorization', `Bearer ${adminToken}`)
      .expect(204);
    await login(t, user.username, TEST_PASSWORD).expect(200);
    await t
      .http()
      .post('/api/v1/users/00000000-0000-4000-8000-000000000000/unlock')
      .set('Authorization', `Bearer ${adminToken}`)
      .expect(404);
  });

  it('audits a failed login for an unknown name without a subject and creates no user', async () => {
    const users = await t.dataSource.getRepository(User).count();
    for (const name of ['ghost-1', 'Ghost-2@Example.com']) {
      await login(t, name, 'wrong-password-1').expect(401);
    }
    assert.equal(await t.dataSource.getRepository(User).count(), users);
    const rows = await t.dataSource.query<
      Array<{ subject_user_id: string | null; details: string }>
    >(
      "SELECT subject_user_id, details FROM audit_events WHERE type = 'auth.login_failed' " +
        'ORDER BY sequence DESC LIMIT 2',
    );
    const events = rows
      .reverse()
      .map((row) => ({ subject: row.subject_user_id, ...(JSON.parse(row.details) as object) }));
    assert.deepEqual(events, [
      { subject: null, loginName: 'ghost-1', reason: 'unknown_account' },
      { subject: null, loginName: 'Ghost-2@Example.com', reason: 'unknown_account' },
    ]);
  });
});

describe('no enumeration, no hashing of hopeless input', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('verifies an unknown name against the dummy hash, a known one against its own', async () => {
    const hasher = t.app.get(PasswordHasher);
    const dummy = mock.method(hasher, 'verifyDummy');
    const verify = mock.method(hasher, 'verify');
    try {
      const user = await createUser(t);
      const unknown = await login(t, 'no-such-user', 'wrong-password-1');
      assert.equal(dummy.mock.callCount(), 1);
      const known = await login(t, user.username, 'wrong-password-1');
      assert.equal(dummy.mock.callCount(), 1);
      // verify ran for the dummy (inside verifyDummy) and for the real hash.
      assert.equal(verify.mock.callCount(), 2);
      assert.deepEqual(unknown.body, known.body);
      assert.deepEqual(stableHeaders(unknown), stableHeaders(known));
    } finally {
      dummy.mock.restore();
      verify.mock.restore();
    }
  });

  it('rejects 129-character passwords before any hashing', async () => {
    const hasher = t.app.get(PasswordHasher);
    const hash = mock.method(hasher, 'hash');
    const verify = mock.method(hasher, 'verify');
    try {
      const user = await createUser(t);
      hash.mock.resetCalls();
      verify.mock.resetCalls();
      const long = 'x'.repeat(129);
      assert.equal((await login(t, user.username, long)).status, 400);
      assert.equal(
        (
          await t
            .http()
            .post('/api/v1/auth/register')
            .send({ username: 'longpw', email: 'longpw@example.com', password: long })
        ).status,
        400,
      );
      assert.equal(hash.mock.callCount(), 0);
      assert.equal(verify.mock.callCount(), 0);
    } finally {
      hash.mock.restore();
      verify.mock.restore();
    }
  });
});
