import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { OutboxMail } from '../src/mail/outbox-mail.entity';
import { User } from '../src/users/entities/user.entity';
import { createUser, loginPair, TEST_PASSWORD, uniqueUsername } from './helpers/factories';
import { startSmtpServer, tokenIn, type TestSmtpServer } from './helpers/smtp-server';
import { createTestApp, type TestApp } from './helpers/test-app';

// Password reset (SPEC §8) end to end against a real SMTP server (test/helpers/smtp-server.ts).
// Accounts are made with createUser (no verification mail), so each address's first mail is
// its reset mail.

const FORGOT = '/api/v1/auth/password/forgot';
const RESET = '/api/v1/auth/password/reset';
const RESET_PAGE = '/account/reset-password';
const NEW_PASSWORD = 'lantern-orchard-river-92';

async function startApp(smtp: TestSmtpServer, env: Record<string, string> = {}): Promise<TestApp> {
  return createTestApp({
    env: { SMTP_URL: smtp.url, MAIL_FROM: 'Identity <no-reply@id.example.com>', ...env },
  });
}

/** The token of the `nth` (1-based) reset mail to `email`. */
async function resetToken(smtp: TestSmtpServer, email: string, nth = 1): Promise<string> {
  return tokenIn(await smtp.waitForMailTo(email, /Reset your password/, { nth }), RESET_PAGE);
}

/** What a client sees of an answer, less what differs on every request. */
function visible(response: Response): { status: number; headers: object; body: string } {
  const headers = { ...response.headers } as Record<string, string>;
  delete headers['x-request-id'];
  delete headers.date;
  return { status: response.status, headers, body: response.text };
}

describe('password reset', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await startApp(smtp);
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  const forgot = (email: string) => t.http().post(FORGOT).send({ email });

  it('answers byte for byte the same for an existing and an unknown address, and mails only the existing', async () => {
    const { email, user } = await createUser(t);
    const unknown = `nobody-${uniqueUsername()}@example.com`;
    const known = await forgot(email.toUpperCase());
    const other = await forgot(unknown);
    assert.equal(known.status, 202);
    assert.deepEqual(visible(known), visible(other));
    assert.deepEqual(known.body, {
      message: 'If an account has this address, a link to reset its password is on its way to it',
    });

    const mail = await smtp.waitForMail((one) => one.envelope.to.includes(email));
    assert.match(mail.subject ?? '', /Reset your password/);
    assert.match(mail.text ?? '', /30 minutes/);
    assert.equal(await t.dataSource.getRepository(OutboxMail).countBy({ recipient: unknown }), 0);
    const events = await t.dataSource
      .getRepository(AuditEvent)
      .findBy({ type: 'user.password_reset_requested' });
    assert.ok(events.some((event) => event.subjectUserId === user.id));
  });

  it('sets the password once: old tokens and sessions end, the lockout clears, a notice is mailed', async () => {
    const { email, username, user } = await createUser(t);
    const before = await loginPair(t, username);
    // Locked: five wrong passwords, then even the right one is refused.
    for (let attempt = 0; attempt < t.config.lockout.threshold; attempt += 1) {
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username, password: 'wrong-password-123' })
        .expect(401);
    }
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username, password: TEST_PASSWORD })
      .expect(401);

    await forgot(email).expect(202);
    const token = await resetToken(smtp, email);
    await t.http().post(RESET).send({ token, newPassword: NEW_PASSWORD }).expect(204);

    // The access token issued before dies; every session ended (the refresh fails).
    await t
      .http()
      .get('/api/v1/users/me')
      .set('Authorization', `Bearer ${before.access_token}`)
      .expect(401);
    await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: before.refresh_token })
      .expect(401);
    // The lock is gone: the new password logs in, the old one does not.
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username, password: TEST_PASSWORD })
      .expect(401);
    await loginPair(t, username, NEW_PASSWORD);

    const again = await t.http().post(RESET).send({ token, newPassword: 'another-pass-phrase-7' });
    assert.equal(again.status, 400);
    assert.equal(again.body.type, 'urn:problem:identity:invalid-account-token');

    const notice = await smtp.waitForMail(
      (mail) =>
        mail.envelope.to.includes(email) && /Your password was changed/.test(mail.subject ?? ''),
    );
    assert.doesNotMatch(notice.text ?? '', /https?:\/\//);
    const types = (
      await t.dataSource.getRepository(AuditEvent).findBy({ subjectUserId: user.id })
    ).map((event) => event.type);
    assert.ok(types.includes('user.password_reset'), types.join());
  });

  it('applies the password policy and leaves the token usable after a refusal', async () => {
    const { email, username } = await createUser(t);
    await forgot(email).expect(202);
    const token = await resetToken(smtp, email);
    const weak = await t.http().post(RESET).send({ token, newPassword: 'password' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.type, 'urn:problem:identity:weak-password');
    assert.equal(weak.body.errors[0].field, 'newPassword');
    const ownName = await t.http().post(RESET).send({ token, newPassword: username });
    assert.equal(ownName.body.type, 'urn:problem:identity:weak-password');
    await t.http().post(RESET).send({ token, newPassword: NEW_PASSWORD }).expect(204);
  });

  it('refuses an expired token, one replaced by a newer mail, and a malformed one', async () => {
    const { email } = await createUser(t);
    await forgot(email).expect(202);
    const first = await resetToken(smtp, email);
    await forgot(email).expect(202);
    const second = await resetToken(smtp, email, 2);
    const replaced = await t.http().post(RESET).send({ token: first, newPassword: NEW_PASSWORD });
    assert.equal(replaced.body.type, 'urn:problem:identity:invalid-account-token');

    t.clock.advance(t.config.accountLifecycle.resetTtlSeconds + 1);
    const expired = await t.http().post(RESET).send({ token: second, newPassword: NEW_PASSWORD });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.type, 'urn:problem:identity:invalid-account-token');

    const malformed = await t
      .http()
      .post(RESET)
      .send({ token: 'x'.repeat(10), newPassword: NEW_PASSWORD });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.type, 'urn:problem:identity:validation-failed');
  });

  it('lets a password change spend a pending reset token (and mail the notice)', async () => {
    const { email, username } = await createUser(t);
    await forgot(email).expect(202);
    const token = await resetToken(smtp, email);
    const { access_token } = await loginPair(t, username);
    await t
      .http()
      .post('/api/v1/users/me/password')
      .set('Authorization', `Bearer ${access_token}`)
      .send({ currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD })
      .expect(200);
    const refused = await t
      .http()
      .post(RESET)
      .send({ token, newPassword: 'another-pass-phrase-7' });
    assert.equal(refused.body.type, 'urn:problem:identity:invalid-account-token');
    await smtp.waitForMail(
      (mail) =>
        mail.envelope.to.includes(email) && /Your password was changed/.test(mail.subject ?? ''),
    );
  });

  it('mails nothing for an inactive account, with the same answer', async () => {
    const { email, user } = await createUser(t);
    await t.dataSource.getRepository(User).update({ id: user.id }, { isActive: false });
    const inactive = await forgot(email);
    const unknown = await forgot(`nobody-${uniqueUsername()}@example.com`);
    assert.deepEqual(visible(inactive), visible(unknown));
    // The request's event is written off the request path; then nothing is queued.
    const deadline = Date.now() + 10_000;
    while (
      (await t.dataSource
        .getRepository(AuditEvent)
        .countBy({ type: 'user.password_reset_requested', subjectUserId: user.id })) === 0
    ) {
      assert.ok(Date.now() < deadline, 'the request was audited');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await t.dataSource.getRepository(OutboxMail).countBy({ recipient: email }), 0);
  });
});

describe('password reset with rate limits on', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await startApp(smtp, {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_IP_PER_MINUTE: '100',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '2',
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('refuses the same way per address whether or not it has an account', async () => {
    const { email } = await createUser(t);
    const unknown = `nobody-${uniqueUsername()}@example.com`;
    const answers = async (address: string) => {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        last = await t.http().post(FORGOT).send({ email: address });
        statuses.push(last.status);
      }
      return { statuses, last: last as Response };
    };
    const known = await answers(email);
    const other = await answers(unknown);
    assert.deepEqual(known.statuses, [202, 202, 429]);
    assert.deepEqual(other.statuses, known.statuses);
    assert.match(known.last.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    const withoutRetry = (response: Response) => {
      const shown = visible(response);
      delete (shown.headers as Record<string, string>)['retry-after'];
      return shown;
    };
    assert.deepEqual(withoutRetry(known.last), withoutRetry(other.last));
  });
});

describe('password reset (PASSWORD_RESET_ENABLED=false)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await startApp(smtp, { PASSWORD_RESET_ENABLED: 'false' });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('answers 404 feature_disabled on both routes', async () => {
    const { email } = await createUser(t);
    const forgot = await t.http().post(FORGOT).send({ email }).expect(404);
    assert.equal(forgot.body.type, 'urn:problem:identity:feature-disabled');
    assert.equal(forgot.body.detail, 'Password reset is not enabled on this service');
    await t
      .http()
      .post(RESET)
      .send({ token: 'A'.repeat(43), newPassword: NEW_PASSWORD })
      .expect(404);
    assert.equal(await t.dataSource.getRepository(OutboxMail).countBy({ recipient: email }), 0);
  });
});
