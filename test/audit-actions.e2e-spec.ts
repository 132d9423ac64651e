import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import {
  createUser,
  createUserWithToken,
  TEST_PASSWORD,
  uniqueUsername,
} from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface Row {
  type: string;
  actor_id: string | null;
  subject_user_id: string | null;
  ip: string | null;
  request_id: string | null;
  details: string;
}

describe('every audited action writes exactly one event', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createUserWithToken>>;
  before(async () => {
    t = await createTestApp();
    admin = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
  });
  after(async () => {
    await t.close();
  });

  async function lastSequence(): Promise<number> {
    const row = await t.dataSource
      .createQueryBuilder()
      .select('MAX(e.sequence)', 'max')
      .from('audit_events', 'e')
      .getRawOne<{ max: number | string | null }>();
    return Number(row?.max ?? 0);
  }

  /** Runs `action` and returns the audit rows it wrote. */
  async function eventsOf(action: () => Promise<unknown>): Promise<Row[]> {
    const before = await lastSequence();
    await action();
    return t.dataSource
      .createQueryBuilder()
      .select([
        'e.type AS type',
        'e.actor_id AS actor_id',
        'e.subject_user_id AS subject_user_id',
        'e.ip AS ip',
        'e.request_id AS request_id',
        'e.details AS details',
      ])
      .from('audit_events', 'e')
      .where('e.sequence > :before', { before })
      .orderBy('e.sequence', 'ASC')
      .getRawMany<Row>();
  }

  function assertOne(
    rows: Row[],
    expected: { type: string; actor: string | null; subject: string | null },
  ): Row {
    assert.equal(rows.length, 1, JSON.stringify(rows));
    const [row] = rows as [Row];
    assert.equal(row.type, expected.type);
    assert.equal(row.actor_id, expected.actor);
    assert.equal(row.subject_user_id, expected.subject);
    // Every event here is written by an HTTP request: it names that request and its address.
    assert.ok(row.request_id, `${row.type} has no request id`);
    assert.ok(row.ip, `${row.type} has no ip`);
    return row;
  }

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('register, with the request id and address of the request, and the verification mail it queues', async () => {
    const username = uniqueUsername();
    let userId = '';
    let requestId = '';
    const rows = await eventsOf(async () => {
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ username, email: `${username}@example.com`, password: TEST_PASSWORD })
        .expect(201);
      userId = (response.body as { id: string }).id;
      requestId = response.headers['x-request-id'] ?? '';
    });
    // EMAIL_VERIFICATION=optional (the default): the registration also mails a verification link.
    assert.deepEqual(
      rows.map((row) => row.type),
      ['user.registered', 'user.email_verification_sent'],
    );
    const [registered, mailed] = rows as [Row, Row];
    assertOne([registered], { type: 'user.registered', actor: userId, subject: userId });
    assertOne([mailed], { type: 'user.email_verification_sent', actor: userId, subject: userId });
    for (const row of rows) assert.equal(row.request_id, requestId);
  });

  it('login success, and login failure with the attempted name but never the password', async () => {
    const user = await createUser(t);
    assertOne(
      await eventsOf(() =>
        t
          .http()
          .post('/api/v1/auth/login')
          .send({ username: user.username, password: TEST_PASSWORD })
          .expect(200),
      ),
      { type: 'auth.login_succeeded', actor: user.user.id, subject: user.user.id },
    );
    const failure = assertOne(
      await eventsOf(() =>
        t
          .http()
          .post('/api/v1/auth/login')
          .send({ username: user.username.toUpperCase(), password: 'secret-guess-123' })
          .expect(401),
      ),
      { type: 'auth.login_failed', actor: null, subject: user.user.id },
    );
    assert.match(failure.details, new RegExp(user.username.toUpperCase()));
    assert.doesNotMatch(failure.details, /secret-guess-123/);
  });

  it('a failed login with an unknown name: an event with no subject', async () => {
    const rows = await eventsOf(() =>
      t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: 'nobody-knows-me', password: 'whatever-123' })
        .expect(401),
    );
    const failure = assertOne(rows, { type: 'auth.login_failed', actor: null, subject: null });
    assert.match(failure.details, /unknown_account/);
  });

  it('logout, logout-all, revoking one session', async () => {
    const user = await createUserWithToken(t);
    const second = await createUserWithToken(t);
    const list = await t.http().get('/api/v1/auth/sessions').set(bearer(user.token));
    const sessionId = (list.body as Array<{ id: string }>)[0]?.id ?? '';
    assertOne(
      await eventsOf(() =>
        t.http().delete(`/api/v1/auth/sessions/${sessionId}`).set(bearer(user.token)).expect(204),
      ),
      { type: 'session.revoked', actor: user.user.id, subject: user.user.id },
    );
    assertOne(
      await eventsOf(() =>
        t.http().post('/api/v1/auth/logout').set(bearer(second.token)).expect(204),
      ),
      { type: 'auth.logout', actor: second.user.id, subject: second.user.id },
    );
    const third = await createUserWithToken(t);
    assertOne(
      await eventsOf(() =>
        t.http().post('/api/v1/auth/logout-all').set(bearer(third.token)).expect(204),
      ),
      { type: 'auth.logout_all', actor: third.user.id, subject: third.user.id },
    );
  });

  it('refresh-token reuse', async () => {
    const user = await createUser(t);
    const first = (
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: user.username, password: TEST_PASSWORD })
    ).body as { refresh_token: string };
    await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: first.refresh_token })
      .expect(200);
    t.clock.advance(t.config.refresh.reuseGraceSeconds + 1);
    assertOne(
      await eventsOf(() =>
        t
          .http()
          .post('/api/v1/auth/refresh')
          .send({ refresh_token: first.refresh_token })
          .expect(401),
      ),
      { type: 'session.refresh_token_reused', actor: null, subject: user.user.id },
    );
  });

  it('password change; a wrong current password is a failed login and changes nothing', async () => {
    const user = await createUserWithToken(t);
    assertOne(
      await eventsOf(() =>
        t
          .http()
          .post('/api/v1/users/me/password')
          .set(bearer(user.token))
          .send({ currentPassword: 'wrong-password-1', newPassword: 'new-pass-phrase-9' })
          .expect(401),
      ),
      { type: 'auth.login_failed', actor: null, subject: user.user.id },
    );
    assertOne(
      await eventsOf(() =>
        t
          .http()
          .post('/api/v1/users/me/password')
          .set(bearer(user.token))
          .send({ currentPassword: TEST_PASSWORD, newPassword: 'new-pass-phrase-9' })
          .expect(200),
      ),
      { type: 'user.password_changed', actor: user.user.id, subject: user.user.id },
    );
  });

  it('role grant and revoke; repeating either records nothing more', async () => {
    const target = await createUser(t);
    const path = `/api/v1/users/${target.user.id}/roles/ROLE_MODERATOR`;
    const granted = assertOne(
      await eventsOf(() => t.http().put(path).set(bearer(admin.token)).expect(200)),
      {
        type: 'role.granted',
        actor: admin.user.id,
        subject: target.user.id,
      },
    );
    assert.match(granted.details, /ROLE_MODERATOR/);
    assert.equal(
      (await eventsOf(() => t.http().put(path).set(bearer(admin.token)).expect(200))).length,
      0,
    );
    assertOne(await eventsOf(() => t.http().delete(path).set(bearer(admin.token)).expect(200)), {
      type: 'role.revoked',
      actor: admin.user.id,
      subject: target.user.id,
    });
    assert.equal(
      (await eventsOf(() => t.http().delete(path).set(bearer(admin.token)).expect(200))).length,
      0,
    );
  });

  it('deactivation, activation, update and deletion', async () => {
    const target = await createUser(t);
    const path = `/api/v1/users/${target.user.id}`;
    assertOne(
      await eventsOf(() =>
        t.http().patch(path).set(bearer(admin.token)).send({ isActive: false }).expect(200),
      ),
      {
        type: 'user.deactivated',
        actor: admin.user.id,
        subject: target.user.id,
      },
    );
    assertOne(
      await eventsOf(() =>
        t.http().patch(path).set(bearer(admin.token)).send({ isActive: true }).expect(200),
      ),
      {
        type: 'user.activated',
        actor: admin.user.id,
        subject: target.user.id,
      },
    );
    const renamed = uniqueUsername('renamed');
    const update = assertOne(
      await eventsOf(() =>
        t.http().patch(path).set(bearer(admin.token)).send({ username: renamed }).expect(200),
      ),
      { type: 'user.updated', actor: admin.user.id, subject: target.user.id },
    );
    assert.match(update.details, new RegExp(renamed));
    assertOne(await eventsOf(() => t.http().delete(path).set(bearer(admin.token)).expect(204)), {
      type: 'user.deleted',
      actor: admin.user.id,
      subject: target.user.id,
    });
  });

  it('a failed change writes no event', async () => {
    const target = await createUser(t);
    const taken = await createUser(t);
    const rows = await eventsOf(async () => {
      await t
        .http()
        .patch(`/api/v1/users/${target.user.id}`)
        .set(bearer(admin.token))
        .send({ username: taken.username })
        .expect(409);
      await t
        .http()
        .delete(`/api/v1/users/${admin.user.id}/roles/ROLE_ADMIN`)
        .set(bearer(admin.token))
        .expect(409);
      await t
        .http()
        .put(`/api/v1/users/${target.user.id}/roles/ROLE_NOPE`)
        .set(bearer(admin.token))
        .expect(404);
      await t
        .http()
        .post('/api/v1/auth/register')
        .send({ username: taken.username, email: 'x@example.com', password: TEST_PASSWORD })
        .expect(409);
    });
    assert.deepEqual(rows, []);
  });
});
