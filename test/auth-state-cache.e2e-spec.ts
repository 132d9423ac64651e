import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthStateCache } from '../src/auth/auth-state.cache';
import { AuthStateSignals, AuthStateSignalStatus } from '../src/auth/auth-state.signals';
import { RoleName } from '../src/users/entities/role.entity';
import { User } from '../src/users/entities/user.entity';
import { createUser, createUserWithToken, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

/**
 * The auth state of a token (user, roles, session) is kept in memory between requests. Two
 * instances share one database here: whatever changes on one, through the API or behind its
 * back in SQL, must refuse (or grant) on the other at its next request.
 */
describe('auth-state cache across instances', () => {
  let first: TestApp;
  let second: TestApp;
  let admin: { token: string };
  before(async () => {
    // One secret, as instances behind one load balancer have.
    const env = { JWT_SECRET: randomBytes(48).toString('base64url') };
    first = await createTestApp({ env });
    second = await createTestApp({ env, database: first.database });
    admin = await createUserWithToken(first, { roles: [RoleName.Admin] });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
  const me = (t: TestApp, token: string) =>
    t
      .http()
      .get('/api/v1/users/me')
      .set(...bearer(token));

  /**
   * Waits until both instances have received every change committed so far. PostgreSQL
   * delivers its notifications right after the commit, but asynchronously; on SQLite there is
   * nothing to wait for.
   */
  async function settled(): Promise<void> {
    await first.app.get(AuthStateSignals).settle();
    await second.app.get(AuthStateSignals).settle();
  }

  function claimsOf(token: string): { sub: string; sid: string } {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      sub: string;
      sid: string;
    };
  }

  const heldIn = (t: TestApp, token: string): boolean => {
    const { sub, sid } = claimsOf(token);
    return t.app.get(AuthStateCache).lookup(sub, sid, t.clock.now().getTime()) !== undefined;
  };

  /** A change the service does not make and TypeORM does not announce: plain SQL. */
  async function setActiveInSql(t: TestApp, userId: string, isActive: boolean): Promise<void> {
    await t.dataSource
      .createQueryBuilder()
      .update(User)
      .set({ isActive })
      .where('id = :id', { id: userId })
      .callListeners(false)
      .execute();
  }

  it('keeps the state of a token in use in memory, on each instance that served it', async () => {
    const { token } = await createUserWithToken(first);
    assert.equal(heldIn(second, token), false);
    await me(second, token).expect(200);
    assert.equal(heldIn(second, token), true);
    await me(second, token).expect(200);
    const signals = second.app.get(AuthStateSignals).status;
    assert.equal(signals, first.database.kind === 'sqlite' ? 'version' : 'listening');
  });

  it('refuses a token on every instance once its session is logged out on one', async () => {
    const { token } = await createUserWithToken(first);
    await me(first, token).expect(200);
    await me(second, token).expect(200);
    await first
      .http()
      .post('/api/v1/auth/logout')
      .set(...bearer(token))
      .expect(204);
    await settled();
    assert.equal((await me(second, token)).status, 401);
    assert.equal((await me(first, token)).status, 401);
  });

  it('refuses the token of a user an admin deactivates on the other instance', async () => {
    const target = await createUserWithToken(first);
    await me(second, target.token).expect(200);
    await first
      .http()
      .patch(`/api/v1/users/${target.user.id}`)
      .set(...bearer(admin.token))
      .send({ isActive: false })
      .expect(200);
    await settled();
    assert.equal((await me(second, target.token)).status, 401);
  });

  it('refuses tokens issued before a password change made on the other instance', async () => {
    const { token } = await createUserWithToken(first);
    await me(second, token).expect(200);
    await first
      .http()
      .post('/api/v1/users/me/password')
      .set(...bearer(token))
      .send({ currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-passphrase-93' })
      .expect(200);
    await settled();
    assert.equal((await me(second, token)).status, 401);
  });

  it('grants a role on every instance once an admin grants it on one', async () => {
    const target = await createUserWithToken(first);
    const moderatorContent = (t: TestApp) =>
      t
        .http()
        .get('/api/v1/content/moderator')
        .set(...bearer(target.token));
    assert.equal((await moderatorContent(second)).status, 403);
    // GET /users/me answers for a cached account are made once per account: not a stale one.
    const rolesBefore = ((await me(second, target.token)).body as { roles: string[] }).roles;
    assert.ok(!rolesBefore.includes(RoleName.Moderator));
    await first
      .http()
      .put(`/api/v1/users/${target.user.id}/roles/${RoleName.Moderator}`)
      .set(...bearer(admin.token))
      .expect((response) => assert.ok(response.status === 200 || response.status === 204));
    await settled();
    assert.equal((await moderatorContent(second)).status, 200);
    const roles = ((await me(second, target.token)).body as { roles: string[] }).roles;
    assert.ok(roles.includes(RoleName.Moderator));
  });

  it('sees a change made in SQL, behind the service, on every instance', async () => {
    const { token, user } = await createUserWithToken(first);
    await me(first, token).expect(200);
    await me(second, token).expect(200);
    await setActiveInSql(first, user.id, false);
    await settled();
    assert.equal((await me(first, token)).status, 401);
    assert.equal((await me(second, token)).status, 401);
    await setActiveInSql(first, user.id, true);
    await settled();
    await me(second, token).expect(200);
  });

  it('sees a change made while requests are in flight on the next request after it', async () => {
    // SQLite checks the version once for the requests that arrive together: a request that
    // arrives after a change must never be answered from a check made before it.
    const { token, user } = await createUserWithToken(first);
    await me(second, token).expect(200);
    const inFlight = Array.from({ length: 25 }, () => me(second, token).then((r) => r.status));
    await setActiveInSql(first, user.id, false);
    await settled();
    const after = await Promise.all([me(second, token), me(second, token), me(first, token)]);
    assert.deepEqual(
      after.map((response) => response.status),
      [401, 401, 401],
    );
    for (const status of await Promise.all(inFlight)) assert.ok([200, 401].includes(status));
  });
});

describe('auth-state cache and idle expiry', () => {
  // Sessions idle out after 600 s here, while access tokens live 900 s; copies are kept up to
  // an hour, so the copy is still there when the old idle expiry passes.
  const env = {
    AUTH_CACHE_TTL: '3600',
    REFRESH_IDLE_TTL: '600',
    ACCESS_TOKEN_TTL: '900',
    JWT_SECRET: randomBytes(48).toString('base64url'),
  };
  let first: TestApp;
  let second: TestApp;
  before(async () => {
    first = await createTestApp({ env });
    second = await createTestApp({ env, database: first.database });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  const advance = (seconds: number): void => {
    first.clock.advance(seconds);
    second.clock.advance(seconds);
  };

  it('checks against the database a session its copy says has idled out', async () => {
    const user = await createUser(first);
    const login = await first
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
    const { access_token: token, refresh_token: refreshToken } = login.body as {
      access_token: string;
      refresh_token: string;
    };
    const me = () => second.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);
    await me().expect(200); // second now holds the session: idle until 600 s
    advance(500);
    try {
      // A refresh on the other instance moves the idle expiry to 1100 s; nothing is announced
      // for that, and nothing needs to be: an old copy can only be too strict.
      await first
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refresh_token: refreshToken })
        .expect(200);
      advance(200);
      await me().expect(200);
    } finally {
      advance(-700);
    }
  });
});

describe('auth-state cache while PostgreSQL notifications are interrupted', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('reads every request from the database until it listens again', async (context) => {
    if (t.database.kind !== 'postgres') {
      context.skip('PostgreSQL only: SQLite checks a version row on every request');
      return;
    }
    const signals = t.app.get(AuthStateSignals);
    const { token, user } = await createUserWithToken(t);
    const me = () => t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);
    await me().expect(200);

    await t.dataSource.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'identity-auth-state-listener'`,
    );
    await statusOf(signals, 'interrupted');
    // Nobody hears about this change; the token must be refused all the same.
    await t.dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [user.id]);
    assert.equal((await me()).status, 401);

    // The listener comes back on its own; from then on the cache works again.
    await statusOf(signals, 'listening');
    await t.dataSource.query('UPDATE users SET is_active = true WHERE id = $1', [user.id]);
    await signals.settle();
    await me().expect(200);
    await t.dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [user.id]);
    await signals.settle();
    assert.equal((await me()).status, 401);
  });
});

describe('auth-state cache without its triggers', () => {
  let t: TestApp;
  let second: TestApp | undefined;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await second?.close();
    await t.close();
  });

  it('stays off, so every request reads the database', async () => {
    await t.dataSource.query(
      t.database.kind === 'postgres'
        ? 'DROP TRIGGER "TRG_roles_auth_state" ON "roles"'
        : 'DROP TRIGGER "TRG_roles_auth_state_update"',
    );
    second = await createTestApp({ database: t.database });
    assert.equal(second.app.get(AuthStateSignals).status, 'off');
    const { token } = await createUserWithToken(second);
    await second.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    assert.equal(second.app.get(AuthStateCache).size, 0);
  });
});

async function statusOf(signals: AuthStateSignals, status: AuthStateSignalStatus): Promise<void> {
  while (signals.status !== status) await signals.nextStatusChange();
}

describe("auth-state cache and this instance's own writes (PostgreSQL)", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('drops what a committed write through TypeORM changed before the next request', async (context) => {
    if (t.database.kind !== 'postgres') {
      context.skip('PostgreSQL only: on SQLite every write moves the version row');
      return;
    }
    // Without its trigger no notification comes for users: only the commit hook is left.
    await t.dataSource.query('DROP TRIGGER "TRG_users_auth_state_update" ON "users"');
    const { token, user } = await createUserWithToken(t);
    const me = () => t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);
    await me().expect(200);
    await t.dataSource.transaction(async (manager) => {
      await manager.update(User, { id: user.id }, { isActive: false });
      // Not committed yet: the state in the database is still the old one.
      await me().expect(200);
    });
    assert.equal((await me()).status, 401);
    await t.dataSource.getRepository(User).update({ id: user.id }, { isActive: true });
    await me().expect(200);
  });
});
