import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { In } from 'typeorm';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { RefreshToken } from '../src/sessions/refresh-token.entity';
import { Session } from '../src/sessions/session.entity';
import { Role } from '../src/users/entities/role.entity';
import { RoleName } from '../src/access/role-name';
import { UserRole } from '../src/users/entities/user-role.entity';
import { User } from '../src/users/entities/user.entity';
import { createUser, createUserWithToken, loginToken, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface UserBody {
  id: string;
  username: string;
  email: string;
  isActive: boolean;
  roles: string[];
  createdAt: string;
}
interface Page {
  items: UserBody[];
  total: number;
  page: number;
  limit: number;
}

describe('user administration', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createUserWithToken>>;
  let moderator: Awaited<ReturnType<typeof createUserWithToken>>;
  let user: Awaited<ReturnType<typeof createUserWithToken>>;

  before(async () => {
    // No mail flow: PATCH /users/me changes the email itself (users-me.e2e-spec.ts has both).
    t = await createTestApp({
      env: { EMAIL_VERIFICATION: 'off', PASSWORD_RESET_ENABLED: 'false' },
    });
    admin = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
    moderator = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Moderator] });
    user = await createUserWithToken(t);
  });
  after(async () => {
    await t.close();
  });

  const as = (token: string) => ({
    get: (path: string) => t.http().get(path).set('Authorization', `Bearer ${token}`),
    patch: (path: string, body: object) =>
      t.http().patch(path).set('Authorization', `Bearer ${token}`).send(body),
    put: (path: string) => t.http().put(path).set('Authorization', `Bearer ${token}`),
    delete: (path: string) => t.http().delete(path).set('Authorization', `Bearer ${token}`),
  });

  describe('GET /users', () => {
    const prefix = `ls${randomBytes(2).toString('hex')}`;
    before(async () => {
      // 25 users sharing a prefix, so filters and totals are exact whatever else is in the DB.
      for (let index = 0; index < 25; index++) {
        const created = await createUser(t, {
          username: `${prefix}-${String(index).padStart(2, '0')}`,
        });
        if (index % 5 === 0) {
          await t.dataSource
            .getRepository(User)
            .update({ id: created.user.id }, { isActive: false });
        }
        if (index % 10 === 0) {
          const role = await t.dataSource
            .getRepository(Role)
            .findOneByOrFail({ name: RoleName.Moderator });
          await t.dataSource
            .getRepository(UserRole)
            .insert({ userId: created.user.id, roleId: role.id });
        }
      }
    });

    const list = async (query: string): Promise<Page> => {
      const response = await as(moderator.token).get(`/api/v1/users?${query}`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body as Page;
    };

    it('pages through the matches with exact totals and no hashes', async () => {
      const first = await list(`q=${prefix}&limit=10&sort=username`);
      assert.equal(first.total, 25);
      assert.equal(first.page, 1);
      assert.equal(first.limit, 10);
      assert.deepEqual(
        first.items.map((item) => item.username),
        Array.from({ length: 10 }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`),
      );
      const third = await list(`q=${prefix}&limit=10&page=3&sort=username`);
      assert.equal(third.items.length, 5);
      const beyond = await list(`q=${prefix}&limit=10&page=4`);
      assert.equal(beyond.items.length, 0);
      assert.equal(beyond.total, 25);
      const text = JSON.stringify([first, third]);
      assert.doesNotMatch(text, /argon|passwordHash|password_hash/);
    });

    it('defaults to page 1 of 20', async () => {
      const page = await list(`q=${prefix}`);
      assert.equal(page.limit, 20);
      assert.equal(page.items.length, 20);
    });

    it('rejects limits outside 1..100 and unknown parameters', async () => {
      for (const query of [
        'limit=0',
        'limit=101',
        'page=0',
        'limit=abc',
        'sort=password',
        'role=ROLE_GOD',
        'isActive=maybe',
        'evil=1',
      ]) {
        const response = await as(moderator.token).get(`/api/v1/users?${query}`);
        assert.equal(response.status, 400, query);
      }
      await as(moderator.token).get('/api/v1/users?limit=100').expect(200);
    });

    it('sorts by each field in both directions, ties broken by id', async () => {
      for (const field of ['username', 'email', 'createdAt'] as const) {
        const ascending = (await list(`q=${prefix}&limit=100&sort=${field}`)).items;
        const descending = (await list(`q=${prefix}&limit=100&sort=-${field}`)).items;
        const key = (item: UserBody) => `${item[field]}|${item.id}`;
        const sorted = [...ascending].sort((a, b) => (key(a) < key(b) ? -1 : 1));
        if (field !== 'createdAt')
          assert.deepEqual(
            ascending.map((i) => i.id),
            sorted.map((i) => i.id),
            field,
          );
        assert.deepEqual(
          descending.map((item) => item[field]),
          [...ascending.map((item) => item[field])].reverse(),
          `-${field}`,
        );
      }
    });

    it('filters by substring (case-insensitive), role and activity', async () => {
      assert.equal((await list(`q=${prefix.toUpperCase()}-1`)).total, 10);
      assert.equal((await list(`q=${prefix}&isActive=false`)).total, 5);
      assert.equal((await list(`q=${prefix}&isActive=true`)).total, 20);
      const moderators = await list(`q=${prefix}&role=ROLE_MODERATOR`);
      assert.equal(moderators.total, 3);
      assert.ok(moderators.items.every((item) => item.roles.includes('ROLE_MODERATOR')));
      assert.equal((await list(`q=${prefix}&role=ROLE_MODERATOR&isActive=false`)).total, 3);
      // LIKE wildcards in q are literal.
      assert.equal((await list('q=%25')).total, 0);
      assert.equal((await list('q=_')).total, 0);
    });

    it('is for moderators and up: a user gets 403, anonymous 401', async () => {
      assert.equal((await as(user.token).get('/api/v1/users')).status, 403);
      assert.equal((await t.http().get('/api/v1/users')).status, 401);
      assert.equal((await as(admin.token).get('/api/v1/users')).status, 200);
    });
  });

  describe('GET and PATCH /users/:id', () => {
    it('shows one user to a moderator, 404 for an unknown id, 400 for a non-uuid', async () => {
      const response = await as(moderator.token).get(`/api/v1/users/${user.user.id}`);
      assert.equal(response.status, 200);
      assert.equal((response.body as UserBody).username, user.username);
      assert.equal(
        (await as(moderator.token).get('/api/v1/users/00000000-0000-4000-8000-000000000000'))
          .status,
        404,
      );
      assert.equal((await as(moderator.token).get('/api/v1/users/not-a-uuid')).status, 400);
    });

    it('does not let a user read or change another user by id (IDOR)', async () => {
      const other = await createUser(t);
      assert.equal((await as(user.token).get(`/api/v1/users/${other.user.id}`)).status, 403);
      assert.equal(
        (await as(user.token).patch(`/api/v1/users/${other.user.id}`, { isActive: false })).status,
        403,
      );
      assert.equal((await as(user.token).delete(`/api/v1/users/${other.user.id}`)).status, 403);
      assert.equal(
        (await as(user.token).put(`/api/v1/users/${user.user.id}/roles/ROLE_ADMIN`)).status,
        403,
      );
      assert.equal(
        (await as(moderator.token).patch(`/api/v1/users/${other.user.id}`, { isActive: false }))
          .status,
        403,
      );
      const row = await t.dataSource.getRepository(User).findOneByOrFail({ id: other.user.id });
      assert.equal(row.isActive, true);
    });

    it('lets an admin rename a user, with 409 for a taken name', async () => {
      const target = await createUser(t);
      const newName = `renamed-${randomBytes(3).toString('hex')}`;
      const response = await as(admin.token).patch(`/api/v1/users/${target.user.id}`, {
        username: newName.toUpperCase(),
      });
      assert.equal(response.status, 200);
      assert.equal((response.body as UserBody).username, newName);
      const taken = await as(admin.token).patch(`/api/v1/users/${target.user.id}`, {
        email: user.email.toUpperCase(),
      });
      assert.equal(taken.status, 409);
      assert.equal(
        (await as(admin.token).patch(`/api/v1/users/${target.user.id}`, { roles: ['ROLE_ADMIN'] }))
          .status,
        400,
      );
    });

    it('lets an admin set emailVerified; a changed email is unverified unless said in the same request', async () => {
      const target = await createUserWithToken(t);
      const path = `/api/v1/users/${target.user.id}`;
      const verified = await as(admin.token).patch(path, { emailVerified: true });
      assert.equal(verified.status, 200);
      assert.equal((verified.body as { emailVerified: boolean }).emailVerified, true);
      // The user sees it on their next request.
      const me = await as(target.token).get('/api/v1/users/me');
      assert.equal((me.body as { emailVerified: boolean }).emailVerified, true);

      const moved = await as(admin.token).patch(path, { email: `moved-${target.email}` });
      assert.equal((moved.body as { emailVerified: boolean }).emailVerified, false);
      const movedVerified = await as(admin.token).patch(path, {
        email: `again-${target.email}`,
        emailVerified: true,
      });
      assert.equal((movedVerified.body as { emailVerified: boolean }).emailVerified, true);
      assert.equal((await as(admin.token).patch(path, { emailVerified: 'yes' })).status, 400);
      // A user cannot verify their own address by PATCH.
      assert.equal(
        (await as(target.token).patch('/api/v1/users/me', { emailVerified: true })).status,
        400,
      );
    });

    it('deactivation ends every session at once; reactivation lets the user log in again', async () => {
      const target = await createUserWithToken(t);
      const refresh = (
        await t
          .http()
          .post('/api/v1/auth/login')
          .send({ username: target.username, password: TEST_PASSWORD })
      ).body as { refresh_token: string };
      await as(admin.token)
        .patch(`/api/v1/users/${target.user.id}`, { isActive: false })
        .expect(200);
      assert.equal((await as(target.token).get('/api/v1/users/me')).status, 401);
      assert.equal(
        (await t.http().post('/api/v1/auth/refresh').send({ refresh_token: refresh.refresh_token }))
          .status,
        401,
      );
      const sessions = await t.dataSource.getRepository(Session).findBy({ userId: target.user.id });
      assert.equal(sessions.length, 2);
      assert.ok(
        sessions.every(
          (session) => session.revokedAt !== null && session.revokeReason === 'user_deactivated',
        ),
      );
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: target.username, password: TEST_PASSWORD })
        .expect(401);
      await as(admin.token)
        .patch(`/api/v1/users/${target.user.id}`, { isActive: true })
        .expect(200);
      await loginToken(t, target.username);
    });
  });

  describe('PATCH /users/me', () => {
    it('changes own username and email, 409 when taken, 400 for roles or isActive', async () => {
      const me = await createUserWithToken(t);
      const username = `self-${randomBytes(3).toString('hex')}`;
      const response = await as(me.token).patch('/api/v1/users/me', {
        username,
        email: `${username}@Example.org`,
        currentPassword: TEST_PASSWORD,
      });
      assert.equal(response.status, 200);
      assert.equal((response.body as UserBody).email, `${username}@example.org`);
      assert.equal(
        (await as(me.token).patch('/api/v1/users/me', { username: user.username })).status,
        409,
      );
      for (const body of [{ roles: ['ROLE_ADMIN'] }, { isActive: false }, { id: admin.user.id }]) {
        assert.equal(
          (await as(me.token).patch('/api/v1/users/me', body)).status,
          400,
          JSON.stringify(body),
        );
      }
      const row = await t.dataSource.getRepository(User).findOneByOrFail({ id: me.user.id });
      assert.equal(row.isActive, true);
      assert.equal(row.username, username);
    });
  });

  describe('roles', () => {
    it('grants and revokes idempotently, 404 for an unknown role or user', async () => {
      const target = await createUser(t);
      const path = `/api/v1/users/${target.user.id}/roles/ROLE_MODERATOR`;
      for (let attempt = 0; attempt < 2; attempt++) {
        const granted = await as(admin.token).put(path);
        assert.equal(granted.status, 200);
        assert.deepEqual((granted.body as UserBody).roles, ['ROLE_MODERATOR', 'ROLE_USER']);
      }
      for (let attempt = 0; attempt < 2; attempt++) {
        const revoked = await as(admin.token).delete(path);
        assert.equal(revoked.status, 200);
        assert.deepEqual((revoked.body as UserBody).roles, ['ROLE_USER']);
      }
      assert.equal(
        (await as(admin.token).put(`/api/v1/users/${target.user.id}/roles/ROLE_GOD`)).status,
        404,
      );
      assert.equal(
        (
          await as(admin.token).put(
            '/api/v1/users/00000000-0000-4000-8000-000000000000/roles/ROLE_USER',
          )
        ).status,
        404,
      );
    });

    it('stays idempotent under 200 parallel grants and revokes: 200 every time, an honest audit trail', async () => {
      const target = await createUser(t);
      const path = `/api/v1/users/${target.user.id}/roles/ROLE_MODERATOR`;
      const burst = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          index % 2 === 0 ? as(admin.token).put(path) : as(admin.token).delete(path),
        ),
      );
      const statuses = burst.map((response) => response.status);
      assert.deepEqual(
        [...new Set(statuses)],
        [200],
        `statuses: ${JSON.stringify(statuses.filter((status) => status !== 200))}`,
      );
      // The last writer wins once the requests are sequential again.
      const granted = await as(admin.token).put(path).expect(200);
      assert.deepEqual((granted.body as UserBody).roles, ['ROLE_MODERATOR', 'ROLE_USER']);
      assert.equal(
        await t.dataSource.getRepository(UserRole).countBy({ userId: target.user.id }),
        2,
      );
      const revoked = await as(admin.token).delete(path).expect(200);
      assert.deepEqual((revoked.body as UserBody).roles, ['ROLE_USER']);
      // Only real changes are recorded: grants and revocations alternate, starting with a grant
      // (the user had no moderator role) and ending with the final revocation.
      const events = await t.dataSource.getRepository(AuditEvent).find({
        where: { subjectUserId: target.user.id, type: In(['role.granted', 'role.revoked']) },
        order: { sequence: 'ASC' },
      });
      assert.ok(events.length >= 2);
      events.forEach((event, index) =>
        assert.equal(event.type, index % 2 === 0 ? 'role.granted' : 'role.revoked', `#${index}`),
      );
      assert.equal(events.at(-1)?.type, 'role.revoked');
    });

    it("refuses a demoted admin's existing token on admin routes on the next request", async () => {
      const second = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
      await as(second.token).get('/api/v1/content/admin').expect(200);
      await as(admin.token).delete(`/api/v1/users/${second.user.id}/roles/ROLE_ADMIN`).expect(200);
      assert.equal((await as(second.token).get('/api/v1/content/admin')).status, 403);
      await as(second.token).get('/api/v1/content/user').expect(200);
    });
  });

  describe('the last active admin', () => {
    it('cannot be demoted, deactivated or deleted (409); another admin can', async () => {
      const app = await createTestApp();
      try {
        const only = await createUserWithToken(app, { roles: [RoleName.User, RoleName.Admin] });
        const call = (method: 'patch' | 'delete', path: string, body?: object) =>
          method === 'patch'
            ? app.http().patch(path).set('Authorization', `Bearer ${only.token}`).send(body)
            : app.http().delete(path).set('Authorization', `Bearer ${only.token}`);
        assert.equal(
          (await call('delete', `/api/v1/users/${only.user.id}/roles/ROLE_ADMIN`)).status,
          409,
        );
        assert.equal(
          (await call('patch', `/api/v1/users/${only.user.id}`, { isActive: false })).status,
          409,
        );
        assert.equal((await call('delete', `/api/v1/users/${only.user.id}`)).status, 409);
        // An inactive admin does not count: with a second *active* admin the first may go.
        const other = await createUser(app, { roles: [RoleName.User, RoleName.Admin] });
        await app.dataSource.getRepository(User).update({ id: other.user.id }, { isActive: false });
        assert.equal(
          (await call('delete', `/api/v1/users/${only.user.id}/roles/ROLE_ADMIN`)).status,
          409,
        );
        await app.dataSource.getRepository(User).update({ id: other.user.id }, { isActive: true });
        assert.equal(
          (await call('delete', `/api/v1/users/${only.user.id}/roles/ROLE_ADMIN`)).status,
          200,
        );
      } finally {
        await app.close();
      }
    });

    it('survives two admins demoting each other at the same moment: exactly one admin is left', async () => {
      const app = await createTestApp();
      try {
        for (let round = 0; round < 5; round++) {
          const a = await createUserWithToken(app, { roles: [RoleName.User, RoleName.Admin] });
          const b = await createUserWithToken(app, { roles: [RoleName.User, RoleName.Admin] });
          // Only these two are admins: earlier rounds' survivors are demoted directly.
          const adminRole = await app.dataSource
            .getRepository(Role)
            .findOneByOrFail({ name: RoleName.Admin });
          const others = (
            await app.dataSource.getRepository(UserRole).findBy({ roleId: adminRole.id })
          ).filter((grant) => grant.userId !== a.user.id && grant.userId !== b.user.id);
          for (const grant of others)
            await app.dataSource
              .getRepository(UserRole)
              .delete({ userId: grant.userId, roleId: grant.roleId });

          const [aDemotesB, bDemotesA] = await Promise.all([
            app
              .http()
              .delete(`/api/v1/users/${b.user.id}/roles/ROLE_ADMIN`)
              .set('Authorization', `Bearer ${a.token}`),
            app
              .http()
              .delete(`/api/v1/users/${a.user.id}/roles/ROLE_ADMIN`)
              .set('Authorization', `Bearer ${b.token}`),
          ]);
          const statuses = [aDemotesB.status, bDemotesA.status].sort();
          assert.ok(
            JSON.stringify(statuses) === '[200,409]' || JSON.stringify(statuses) === '[200,403]',
            `round ${round}: ${statuses.join()}`,
          );
          assert.equal(
            await app.dataSource.getRepository(UserRole).countBy({ roleId: adminRole.id }),
            1,
          );
        }
      } finally {
        await app.close();
      }
    });
  });

  describe('DELETE /users/:id', () => {
    it('deletes the user with their roles and sessions, and nothing else', async () => {
      const target = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Moderator] });
      const bystander = await createUserWithToken(t);
      const counts = async () => ({
        users: await t.dataSource.getRepository(User).count(),
        grants: await t.dataSource.getRepository(UserRole).count(),
        sessions: await t.dataSource.getRepository(Session).count(),
        tokens: await t.dataSource.getRepository(RefreshToken).count(),
        roles: await t.dataSource.getRepository(Role).count(),
      });
      const before = await counts();
      const targetSessions = await t.dataSource
        .getRepository(Session)
        .countBy({ userId: target.user.id });
      const targetTokens = await t.dataSource
        .getRepository(RefreshToken)
        .createQueryBuilder('token')
        .innerJoin('token.session', 'session')
        .where('session.userId = :id', { id: target.user.id })
        .getCount();

      await as(admin.token).delete(`/api/v1/users/${target.user.id}`).expect(204);

      const afterCounts = await counts();
      assert.deepEqual(afterCounts, {
        users: before.users - 1,
        grants: before.grants - 2,
        sessions: before.sessions - targetSessions,
        tokens: before.tokens - targetTokens,
        roles: before.roles,
      });
      assert.equal((await as(target.token).get('/api/v1/users/me')).status, 401);
      await as(bystander.token).get('/api/v1/users/me').expect(200);
      assert.equal((await as(admin.token).delete(`/api/v1/users/${target.user.id}`)).status, 404);
    });
  });
});
