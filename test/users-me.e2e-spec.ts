import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { User } from '../src/users/entities/user.entity';
import { createUserWithToken, loginToken, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

const THRESHOLD = 3;
const NO_MAIL_FLOWS = { EMAIL_VERIFICATION: 'off', PASSWORD_RESET_ENABLED: 'false' };

describe('self-service changes that need the current password', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: {
        LOCKOUT_THRESHOLD: String(THRESHOLD),
        LOCKOUT_BASE_SECONDS: '60',
        // No mail flow: PATCH /users/me changes the email itself (with mail, it needs confirming).
        ...NO_MAIL_FLOWS,
      },
    });
  });
  after(async () => {
    await t.close();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const patchMe = (token: string, body: object) =>
    t.http().patch('/api/v1/users/me').set(bearer(token)).send(body);
  const row = (id: string) => t.dataSource.getRepository(User).findOneByOrFail({ id });
  const login = (username: string, password: string) =>
    t.http().post('/api/v1/auth/login').send({ username, password });

  describe('PATCH /users/me', () => {
    it('changing the email needs the current password: 400 without, 401 when wrong', async () => {
      const me = await createUserWithToken(t);
      const email = `moved-${me.username}@example.org`;
      const missing = await patchMe(me.token, { email });
      assert.equal(missing.status, 400);
      assert.match(JSON.stringify(missing.body), /currentPassword/);
      const wrong = await patchMe(me.token, { email, currentPassword: 'wrong-password-1' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal((await row(me.user.id)).email, me.email);

      const moved = await patchMe(me.token, { email, currentPassword: TEST_PASSWORD });
      assert.equal(moved.status, 200);
      assert.equal((moved.body as { email: string }).email, email);
      // Nobody proved the new address is theirs.
      assert.equal((moved.body as { emailVerified: boolean }).emailVerified, false);
      await login(email, TEST_PASSWORD).expect(200);
      await login(me.email, TEST_PASSWORD).expect(401);
    });

    it('a wrong current password counts as a failed login: the account locks', async () => {
      const me = await createUserWithToken(t);
      const email = `locked-${me.username}@example.org`;
      for (let attempt = 0; attempt < THRESHOLD; attempt++) {
        await patchMe(me.token, { email, currentPassword: 'wrong-password-1' }).expect(401);
      }
      const locked = await row(me.user.id);
      assert.equal(locked.failedLoginCount, THRESHOLD);
      assert.ok(locked.lockedUntil !== null && locked.lockedUntil > t.clock.now());
      // Locked: the right password is refused too, here and at login.
      await patchMe(me.token, { email, currentPassword: TEST_PASSWORD }).expect(401);
      await login(me.username, TEST_PASSWORD).expect(401);
      assert.equal((await row(me.user.id)).email, me.email);
    });

    it('changing only the username needs no password', async () => {
      const me = await createUserWithToken(t);
      const username = `renamed-${me.user.id.slice(0, 8)}`;
      const renamed = await patchMe(me.token, { username });
      assert.equal(renamed.status, 200);
      assert.equal((renamed.body as { username: string }).username, username);
    });
  });

  describe('POST /users/me/password', () => {
    it('a token issued between two changes within one second dies with the second', async () => {
      const me = await createUserWithToken(t);
      const change = (token: string, currentPassword: string, newPassword: string) =>
        t
          .http()
          .post('/api/v1/users/me/password')
          .set(bearer(token))
          .send({ currentPassword, newPassword });
      // The clock does not move: both changes are in one second. The token the first change
      // issued (its session lives on through the second) must die with the second.
      const first = await change(me.token, TEST_PASSWORD, 'first-new-phrase-1').expect(200);
      const between = (first.body as { access_token: string }).access_token;
      await t.http().get('/api/v1/users/me').set(bearer(between)).expect(200);
      const second = await change(between, 'first-new-phrase-1', 'second-new-phrase-2').expect(200);
      await t.http().get('/api/v1/users/me').set(bearer(between)).expect(401);
      // The token the second change handed out works.
      await t
        .http()
        .get('/api/v1/users/me')
        .set(bearer((second.body as { access_token: string }).access_token))
        .expect(200);
      await loginToken(t, me.username, 'second-new-phrase-2');
    });

    it('a wrong current password is refused and counts as a failed login', async () => {
      const me = await createUserWithToken(t);
      await t
        .http()
        .post('/api/v1/users/me/password')
        .set(bearer(me.token))
        .send({ currentPassword: 'wrong-password-1', newPassword: 'another-phrase-3' })
        .expect(401);
      assert.equal((await row(me.user.id)).failedLoginCount, 1);
    });
  });
});

describe('PATCH /users/me while a mail flow is on', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('refuses a new email (the new address must confirm it) and still renames', async () => {
    const me = await createUserWithToken(t);
    const patchMe = (body: object) =>
      t
        .http()
        .patch('/api/v1/users/me')
        .set({ Authorization: `Bearer ${me.token}` })
        .send(body);

    const refused = await patchMe({ email: `new-${me.email}`, currentPassword: TEST_PASSWORD });
    assert.equal(refused.status, 400);
    assert.equal(
      (refused.body as { type: string }).type,
      'urn:problem:identity:email-change-needs-confirmation',
    );
    assert.match((refused.body as { detail: string }).detail, /POST \/users\/me\/email/);
    const row = await t.dataSource.getRepository(User).findOneByOrFail({ id: me.user.id });
    assert.equal(row.email, me.email);

    // The email it already has, and a new username, are fine.
    const renamed = await patchMe({
      username: `${me.username}2`,
      email: me.email,
      currentPassword: TEST_PASSWORD,
    });
    assert.equal(renamed.status, 200);
    assert.equal((renamed.body as { username: string }).username, `${me.username}2`);
  });
});
