import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { createUser, createUserWithToken, loginToken, TEST_PASSWORD } from './helpers/factories';
import { startSmtpServer, tokenIn, type TestSmtpServer } from './helpers/smtp-server';
import { createTestApp, type TestApp } from './helpers/test-app';

const CONFIRM = '/account/confirm-email-change';

describe('email change by confirmation (SPEC §8)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: {
        SMTP_URL: smtp.url,
        PUBLIC_URL: 'https://id.example.com',
        MAIL_POLL_INTERVAL_MS: '50',
      },
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const request = (token: string, body: object) =>
    t.http().post('/api/v1/users/me/email').set(bearer(token)).send(body);
  const confirm = (token: string) =>
    t.http().post('/api/v1/auth/email/change/confirm').send({ token });
  const me = async (token: string) =>
    (await t.http().get('/api/v1/users/me').set(bearer(token)).expect(200)).body as {
      email: string;
      emailVerified: boolean;
    };

  it('mails the new address a link that applies the change once, and the old one a notice', async () => {
    const user = await createUserWithToken(t);
    const newEmail = `moved-${user.username}@example.org`;
    const asked = await request(user.token, { newEmail, currentPassword: TEST_PASSWORD });
    assert.equal(asked.status, 202);
    // Nothing changes before the confirmation.
    assert.equal((await me(user.token)).email, user.email);

    const confirmation = await smtp.waitForMailTo(newEmail, /Confirm your new email/);
    const notice = await smtp.waitForMailTo(user.email, /being changed/);
    assert.match(notice.text ?? '', /m\*\*\*@example\.org/);
    // The notice carries no link that could apply the change.
    assert.doesNotMatch(notice.text ?? '', /token=/);
    assert.ok(!(notice.text ?? '').includes(newEmail));
    const token = tokenIn(confirmation, CONFIRM);
    assert.ok(typeof confirmation.html === 'string' && confirmation.html.includes(token));

    await confirm(token).expect(204);
    const after = await me(user.token);
    assert.deepEqual([after.email, after.emailVerified], [newEmail, true]);
    await loginToken(t, newEmail);
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.email, password: TEST_PASSWORD })
      .expect(401);

    const reused = await confirm(token);
    assert.equal(reused.status, 400);
    assert.equal(
      (reused.body as { type: string }).type,
      'urn:problem:identity:invalid-account-token',
    );

    const events = await t.dataSource
      .getRepository(AuditEvent)
      .find({ where: { subjectUserId: user.user.id }, order: { sequence: 'ASC' } });
    const types = events.map((event) => event.type);
    assert.ok(types.includes('user.email_change_requested'));
    assert.ok(types.includes('user.email_changed'));
  });

  it('re-authenticates: 401 for a wrong password (counted), 400 without one', async () => {
    const user = await createUserWithToken(t);
    const newEmail = `x-${user.username}@example.org`;
    assert.equal(
      (await request(user.token, { newEmail, currentPassword: 'wrong-password-1' })).status,
      401,
    );
    assert.equal((await request(user.token, { newEmail })).status, 400);
    assert.equal(
      (await request(user.token, { newEmail: 'not-an-email', currentPassword: TEST_PASSWORD }))
        .status,
      400,
    );
    assert.equal(
      (
        await t
          .http()
          .post('/api/v1/users/me/email')
          .send({ newEmail, currentPassword: TEST_PASSWORD })
      ).status,
      401,
    );
  });

  it('refuses an address already in use (409), its own included', async () => {
    const user = await createUserWithToken(t);
    const other = await createUser(t);
    const taken = await request(user.token, {
      newEmail: other.email,
      currentPassword: TEST_PASSWORD,
    });
    assert.equal(taken.status, 409);
    assert.equal((taken.body as { type: string }).type, 'urn:problem:identity:email-taken');
    const own = await request(user.token, {
      newEmail: user.email.toUpperCase(),
      currentPassword: TEST_PASSWORD,
    });
    assert.equal(own.status, 409);
  });

  it('re-checks uniqueness at confirmation: 409 when another account took the address meanwhile', async () => {
    const user = await createUserWithToken(t);
    const newEmail = `race-${user.username}@example.org`;
    await request(user.token, { newEmail, currentPassword: TEST_PASSWORD }).expect(202);
    const token = tokenIn(await smtp.waitForMailTo(newEmail, /Confirm/), CONFIRM);
    await t
      .http()
      .post('/api/v1/auth/register')
      .send({
        username: `taker-${user.username}`.slice(0, 32),
        email: newEmail,
        password: TEST_PASSWORD,
      })
      .expect(201);
    const refused = await confirm(token);
    assert.equal(refused.status, 409);
    assert.equal((await me(user.token)).email, user.email);
  });

  it('gives a contested address to one of two parallel confirmations; the other is a 409', async () => {
    const [a, b] = await Promise.all([createUserWithToken(t), createUserWithToken(t)]);
    const contested = `contested-${a.username}@example.org`;
    await request(a.token, { newEmail: contested, currentPassword: TEST_PASSWORD }).expect(202);
    const first = tokenIn(await smtp.waitForMailTo(contested, /Confirm/), CONFIRM);
    await request(b.token, { newEmail: contested, currentPassword: TEST_PASSWORD }).expect(202);
    const second = tokenIn(await smtp.waitForMailTo(contested, /Confirm/, { nth: 2 }), CONFIRM);
    const answers = await Promise.all([confirm(first), confirm(second)]);
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [204, 409]);
    const emails = [(await me(a.token)).email, (await me(b.token)).email];
    assert.equal(emails.filter((email) => email === contested).length, 1);
  });

  it('a newer request replaces the older link; a link expires after EMAIL_CHANGE_TTL', async () => {
    const user = await createUserWithToken(t);
    const first = `first-${user.username}@example.org`;
    const second = `second-${user.username}@example.org`;
    await request(user.token, { newEmail: first, currentPassword: TEST_PASSWORD }).expect(202);
    const firstToken = tokenIn(await smtp.waitForMailTo(first, /Confirm/), CONFIRM);
    await request(user.token, { newEmail: second, currentPassword: TEST_PASSWORD }).expect(202);
    const secondToken = tokenIn(await smtp.waitForMailTo(second, /Confirm/), CONFIRM);
    assert.equal((await confirm(firstToken)).status, 400);

    t.clock.advance(3601);
    assert.equal((await confirm(secondToken)).status, 400);
    assert.equal((await me(await loginToken(t, user.username))).email, user.email);
  });

  it('a password change ends a pending email change (the notice tells the owner to change it)', async () => {
    // Whoever asked with the stolen password holds the new mailbox: once the owner changes the
    // password, as the notice says, their link must not move the account's recovery address.
    const user = await createUserWithToken(t);
    const newEmail = `thief-${user.username}@example.org`;
    await request(user.token, { newEmail, currentPassword: TEST_PASSWORD }).expect(202);
    const token = tokenIn(await smtp.waitForMailTo(newEmail, /Confirm/), CONFIRM);
    const changed = await t
      .http()
      .post('/api/v1/users/me/password')
      .set(bearer(user.token))
      .send({ currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-passphrase-9' })
      .expect(200);
    const refused = await confirm(token);
    assert.equal(refused.status, 400);
    assert.equal(
      (refused.body as { type: string }).type,
      'urn:problem:identity:invalid-account-token',
    );
    const fresh = (changed.body as { access_token: string }).access_token;
    assert.equal((await me(fresh)).email, user.email);
  });

  it('a password reset ends a pending email change too', async () => {
    const user = await createUserWithToken(t);
    const newEmail = `thief2-${user.username}@example.org`;
    await request(user.token, { newEmail, currentPassword: TEST_PASSWORD }).expect(202);
    const token = tokenIn(await smtp.waitForMailTo(newEmail, /Confirm/), CONFIRM);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const reset = tokenIn(
      await smtp.waitForMailTo(user.email, /Reset your password/),
      '/account/reset-password',
    );
    await t
      .http()
      .post('/api/v1/auth/password/reset')
      .send({ token: reset, newPassword: 'a-brand-new-passphrase-9' })
      .expect(204);
    assert.equal((await confirm(token)).status, 400);
  });

  it('answers 400 for a malformed code without looking it up', async () => {
    assert.equal((await confirm('short')).status, 400);
    assert.equal((await confirm('A'.repeat(43))).status, 400);
  });
});

describe('email change with every mail flow off', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: { EMAIL_VERIFICATION: 'off', PASSWORD_RESET_ENABLED: 'false' },
    });
  });
  after(async () => {
    await t.close();
  });

  it('answers 404 feature_disabled (PATCH /users/me changes the email then)', async () => {
    const user = await createUserWithToken(t);
    const refused = await t
      .http()
      .post('/api/v1/users/me/email')
      .set({ Authorization: `Bearer ${user.token}` })
      .send({ newEmail: `n-${user.email}`, currentPassword: TEST_PASSWORD });
    assert.equal(refused.status, 404);
    assert.equal((refused.body as { type: string }).type, 'urn:problem:identity:feature-disabled');
  });
});

describe('email change rate limits', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: {
        SMTP_URL: smtp.url,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_IP_PER_MINUTE: '1000',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '3',
      },
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('bounds the mails one account can send: 429 with Retry-After', async () => {
    const user = await createUserWithToken(t);
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await t
        .http()
        .post('/api/v1/users/me/email')
        .set({ Authorization: `Bearer ${user.token}` })
        .send({ newEmail: `r${i}-${user.email}`, currentPassword: TEST_PASSWORD });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers['retry-after'];
    }
    assert.ok(statuses.filter((status) => status === 202).length <= 3, statuses.join());
    assert.equal(statuses.at(-1), 429);
    assert.match(retryAfter ?? '', /^\d+$/);
  });
});
