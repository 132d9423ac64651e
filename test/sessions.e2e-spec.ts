import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { RefreshToken } from '../src/sessions/refresh-token.entity';
import { Session } from '../src/sessions/session.entity';
import { hashRefreshToken } from '../src/sessions/sessions.service';
import { Role } from '../src/users/entities/role.entity';
import { RoleName } from '../src/access/role-name';
import { UserRole } from '../src/users/entities/user-role.entity';
import { User } from '../src/users/entities/user.entity';
import { createUser, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface Pair {
  access_token: string;
  refresh_token: string;
  refresh_expires_in: number;
}

const DAY = 86400;

describe('sessions and the refresh flow', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  async function login(username: string, userAgent = 'test-agent/1.0'): Promise<Pair> {
    const response = await t
      .http()
      .post('/api/v1/auth/login')
      .set('User-Agent', userAgent)
      .send({ username, password: TEST_PASSWORD })
      .expect(200);
    return response.body as Pair;
  }

  async function newSession(): Promise<Pair & { userId: string; username: string }> {
    const user = await createUser(t);
    return { ...(await login(user.username)), userId: user.user.id, username: user.username };
  }

  const refresh = (refreshToken: unknown) =>
    t.http().post('/api/v1/auth/refresh').send({ refresh_token: refreshToken });
  const me = (accessToken: string) =>
    t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${accessToken}`);

  function assertInvalidGrant(response: Response): void {
    assert.equal(response.status, 401, JSON.stringify(response.body));
    assert.deepEqual(Object.keys(response.body as object).sort(), ['error', 'error_description']);
    assert.equal((response.body as { error: string }).error, 'invalid_grant');
  }

  async function sessionRow(accessToken: string): Promise<Session> {
    const sid = (
      JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as {
        sid: string;
      }
    ).sid;
    return t.dataSource.getRepository(Session).findOneByOrFail({ id: sid });
  }

  it('login returns the full token pair of the SPEC and stores only a hash of the refresh token', async () => {
    const pair = await newSession();
    assert.equal(typeof pair.access_token, 'string');
    assert.match(pair.refresh_token, /^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    assert.equal(pair.refresh_expires_in, 7 * DAY);
    const stored = await t.dataSource.getRepository(RefreshToken).find();
    assert.ok(stored.every((row) => row.tokenHash !== pair.refresh_token));
    assert.ok(stored.every((row) => /^[0-9a-f]{64}$/.test(row.tokenHash)));
  });

  it('rotation writes the successor token and the session as TypeORM reads them back', async () => {
    const pair = await newSession();
    t.clock.advance(120);
    try {
      const response = await t
        .http()
        .post('/api/v1/auth/refresh')
        .set('User-Agent', 'rotating-agent/2.0')
        .send({ refresh_token: pair.refresh_token })
        .expect(200);
      const next = response.body as Pair;
      const now = t.clock.now().getTime();
      const tokens = t.dataSource.getRepository(RefreshToken);
      const old = await tokens.findOneByOrFail({ tokenHash: hashRefreshToken(pair.refresh_token) });
      const successor = await tokens.findOneByOrFail({
        tokenHash: hashRefreshToken(next.refresh_token),
      });
      assert.equal(old.rotatedAt?.getTime(), now);
      assert.equal(successor.parentId, old.id);
      assert.equal(successor.sessionId, old.sessionId);
      assert.equal(successor.createdAt.getTime(), now);
      assert.equal(successor.rotatedAt, null);
      const session = await t.dataSource
        .getRepository(Session)
        .findOneByOrFail({ id: old.sessionId });
      assert.equal(session.lastUsedAt.getTime(), now);
      assert.equal(session.idleExpiresAt.getTime(), now + t.config.refresh.idleTtlSeconds * 1000);
      assert.equal(session.userAgent, 'rotating-agent/2.0');
      assert.equal(session.ip, '127.0.0.1');
      assert.equal(next.refresh_expires_in, t.config.refresh.idleTtlSeconds);
    } finally {
      t.clock.advance(-120);
    }
  });

  it('puts the roles the user has now into the access token a refresh returns', async () => {
    const pair = await newSession();
    const moderator = await t.dataSource
      .getRepository(Role)
      .findOneByOrFail({ name: RoleName.Moderator });
    await t.dataSource
      .getRepository(UserRole)
      .insert({ userId: pair.userId, roleId: moderator.id });
    const response = await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: pair.refresh_token })
      .expect(200);
    const payload = (response.body as Pair).access_token.split('.')[1] ?? '';
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      roles: string[];
    };
    assert.deepEqual(claims.roles, [RoleName.Moderator, RoleName.User]);
  });

  it('rotates: every refresh returns a new refresh token and the old one stops working', async () => {
    const first = await newSession();
    const response = await refresh(first.refresh_token);
    assert.equal(response.status, 200);
    assert.equal(response.headers['cache-control'], 'no-store');
    const second = response.body as Pair;
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.notEqual(second.access_token, first.access_token);
    await me(second.access_token).expect(200);
    assertInvalidGrant(await refresh(first.refresh_token));
    const third = (await refresh(second.refresh_token).expect(200)).body as Pair;
    assert.notEqual(third.refresh_token, second.refresh_token);
  });

  it('treats a rotated token replayed after the grace window as theft: the whole session dies', async () => {
    const t0 = await newSession();
    const t1 = (await refresh(t0.refresh_token).expect(200)).body as Pair;
    const t2 = (await refresh(t1.refresh_token).expect(200)).body as Pair;
    const t3 = (await refresh(t2.refresh_token).expect(200)).body as Pair;
    t.clock.advance(t.config.refresh.reuseGraceSeconds + 1);

    assertInvalidGrant(await refresh(t0.refresh_token));
    assertInvalidGrant(await refresh(t3.refresh_token));
    const revoked = await me(t3.access_token);
    assert.equal(revoked.status, 401);
    const session = await sessionRow(t3.access_token);
    assert.equal(session.revokeReason, 'refresh_token_reuse');
  });

  it('refuses a replay inside the grace window without killing the session (concurrent tabs)', async () => {
    const first = await newSession();
    const second = (await refresh(first.refresh_token).expect(200)).body as Pair;
    t.clock.advance(t.config.refresh.reuseGraceSeconds - 1);
    assertInvalidGrant(await refresh(first.refresh_token));
    await me(second.access_token).expect(200);
    await refresh(second.refresh_token).expect(200);
  });

  it('lets exactly one of 20 concurrent refreshes with one token win, with one live successor', async () => {
    const pair = await newSession();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => refresh(pair.refresh_token)),
    );
    const statuses = responses.map((response) => response.status);
    assert.equal(statuses.filter((status) => status === 200).length, 1, statuses.join());
    assert.equal(statuses.filter((status) => status === 401).length, 19, statuses.join());
    const tokens = t.dataSource.getRepository(RefreshToken);
    const parent = await tokens.findOneByOrFail({
      tokenHash: hashRefreshToken(pair.refresh_token),
    });
    assert.equal(await tokens.countBy({ parentId: parent.id }), 1);
    const winner = responses.find((response) => response.status === 200)?.body as Pair;
    await me(winner.access_token).expect(200);
    await refresh(winner.refresh_token).expect(200);
  });

  it('logout kills the refresh token and the access token of the session', async () => {
    const pair = await newSession();
    const other = await login(pair.username);
    await t
      .http()
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${pair.access_token}`)
      .expect(204);
    assert.equal((await me(pair.access_token)).status, 401);
    assertInvalidGrant(await refresh(pair.refresh_token));
    await me(other.access_token).expect(200);
  });

  it('logout-all kills every session of the user, and nobody else’s', async () => {
    const a = await newSession();
    const b = await login(a.username);
    const stranger = await newSession();
    await t
      .http()
      .post('/api/v1/auth/logout-all')
      .set('Authorization', `Bearer ${a.access_token}`)
      .expect(204);
    for (const pair of [a, b]) {
      assert.equal((await me(pair.access_token)).status, 401);
      assertInvalidGrant(await refresh(pair.refresh_token));
    }
    await me(stranger.access_token).expect(200);
  });

  it('lists live sessions with the current one marked, and revokes one of them', async () => {
    const a = await newSession();
    const b = await login(a.username, 'second-browser/2.0');
    const list = await t
      .http()
      .get('/api/v1/auth/sessions')
      .set('Authorization', `Bearer ${a.access_token}`)
      .expect(200);
    const sessions = list.body as Array<{
      id: string;
      current: boolean;
      userAgent: string;
      ip: string;
    }>;
    assert.equal(sessions.length, 2);
    assert.equal(sessions.filter((session) => session.current).length, 1);
    const other = sessions.find((session) => !session.current);
    assert.equal(other?.userAgent, 'second-browser/2.0');
    assert.ok(sessions.every((session) => typeof session.ip === 'string'));

    await t
      .http()
      .delete(`/api/v1/auth/sessions/${other?.id}`)
      .set('Authorization', `Bearer ${a.access_token}`)
      .expect(204);
    assert.equal((await me(b.access_token)).status, 401);
    assertInvalidGrant(await refresh(b.refresh_token));
    await me(a.access_token).expect(200);
  });

  it("answers 404 for another user's session id and leaves it alive", async () => {
    const mine = await newSession();
    const theirs = await newSession();
    const theirSession = await sessionRow(theirs.access_token);
    const response = await t
      .http()
      .delete(`/api/v1/auth/sessions/${theirSession.id}`)
      .set('Authorization', `Bearer ${mine.access_token}`);
    assert.equal(response.status, 404);
    await me(theirs.access_token).expect(200);
    await t
      .http()
      .delete('/api/v1/auth/sessions/00000000-0000-4000-8000-000000000000')
      .set('Authorization', `Bearer ${mine.access_token}`)
      .expect(404);
  });

  describe('password change', () => {
    const change = (accessToken: string, body: Record<string, string>) =>
      t
        .http()
        .post('/api/v1/users/me/password')
        .set('Authorization', `Bearer ${accessToken}`)
        .send(body);

    it('revokes other sessions and older access tokens; the current session lives on', async () => {
      const current = await newSession();
      const other = await login(current.username);
      const newPassword = 'a-brand-new-passphrase';
      const response = await change(current.access_token, {
        currentPassword: TEST_PASSWORD,
        newPassword,
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const fresh = response.body as Pair;

      assert.equal(
        (await me(current.access_token)).status,
        401,
        'old access token of this session',
      );
      assert.equal((await me(other.access_token)).status, 401, 'access token of another session');
      assertInvalidGrant(await refresh(other.refresh_token));
      assertInvalidGrant(await refresh(current.refresh_token));
      await me(fresh.access_token).expect(200);
      assert.equal(
        (await sessionRow(fresh.access_token)).id,
        (await sessionRow(current.access_token)).id,
      );
      await refresh(fresh.refresh_token).expect(200);

      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: current.username, password: TEST_PASSWORD })
        .expect(401);
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: current.username, password: newPassword })
        .expect(200);
    });

    it('answers 401 for a wrong current password and changes nothing', async () => {
      const pair = await newSession();
      const response = await change(pair.access_token, {
        currentPassword: 'not-my-password',
        newPassword: 'another-good-passphrase',
      });
      assert.equal(response.status, 401);
      await me(pair.access_token).expect(200);
      await login(pair.username);
    });

    it('refuses a new password the policy rejects, listing the problem', async () => {
      const pair = await newSession();
      for (const newPassword of ['short', 'password1', pair.username]) {
        const response = await change(pair.access_token, {
          currentPassword: TEST_PASSWORD,
          newPassword,
        });
        assert.equal(response.status, 400, newPassword);
        assert.equal(
          (response.body as { errors: Array<{ field: string }> }).errors[0]?.field,
          'newPassword',
        );
      }
      await me(pair.access_token).expect(200);
    });
  });

  it('refuses a refresh when the user was deactivated, and their access token at once', async () => {
    const pair = await newSession();
    await t.dataSource.getRepository(User).update({ id: pair.userId }, { isActive: false });
    assert.equal((await me(pair.access_token)).status, 401);
    assertInvalidGrant(await refresh(pair.refresh_token));
  });

  it('expires an idle session (injected clock)', async () => {
    const pair = await newSession();
    t.clock.advance(t.config.refresh.idleTtlSeconds + 1);
    assertInvalidGrant(await refresh(pair.refresh_token));
    t.clock.advance(-(t.config.refresh.idleTtlSeconds + 1));
  });

  it('keeps an active session alive until its absolute lifetime, then ends it', async () => {
    let pair: Pair = await newSession();
    const step = t.config.refresh.idleTtlSeconds - DAY; // always within the idle timeout
    let elapsed = 0;
    while (elapsed + step < t.config.refresh.absoluteTtlSeconds) {
      t.clock.advance(step);
      elapsed += step;
      pair = (await refresh(pair.refresh_token).expect(200)).body as Pair;
      assert.ok(pair.refresh_expires_in <= t.config.refresh.absoluteTtlSeconds - elapsed);
    }
    t.clock.advance(t.config.refresh.absoluteTtlSeconds - elapsed + 1);
    assertInvalidGrant(await refresh(pair.refresh_token));
    t.clock.advance(-(t.config.refresh.absoluteTtlSeconds + 1));
  });

  it('rejects an access token at /auth/refresh and a refresh token as a bearer token', async () => {
    const pair = await newSession();
    assertInvalidGrant(await refresh(pair.access_token));
    assert.equal((await me(pair.refresh_token)).status, 401);
  });

  it('answers garbage and 10 KB refresh tokens with the same invalid_grant', async () => {
    const garbage = await refresh('garbage');
    const huge = await refresh('A'.repeat(10 * 1024));
    assertInvalidGrant(garbage);
    assertInvalidGrant(huge);
    assert.deepEqual(huge.body, garbage.body);
    const missing = await t.http().post('/api/v1/auth/refresh').send({});
    assert.equal(missing.status, 400);
    assert.equal((missing.body as { error: string }).error, 'invalid_request');
    const wrongType = await refresh(12345);
    assert.equal(wrongType.status, 400);
  });

  it('refreshes through the OAuth2 token endpoint (grant_type=refresh_token)', async () => {
    const pair = await newSession();
    const response = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send(`grant_type=refresh_token&refresh_token=${encodeURIComponent(pair.refresh_token)}`);
    assert.equal(response.status, 200);
    const next = response.body as Pair;
    assert.notEqual(next.refresh_token, pair.refresh_token);
    await me(next.access_token).expect(200);
    const replay = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send(`grant_type=refresh_token&refresh_token=${encodeURIComponent(pair.refresh_token)}`);
    assertInvalidGrant(replay);
  });
});
