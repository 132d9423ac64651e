import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { AccountTokens } from '../src/account-lifecycle/account-tokens.service';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { AuditService } from '../src/audit/audit.service';
import { Transactions } from '../src/database/database';
import { OutboxMail } from '../src/mail/outbox-mail.entity';
import { User } from '../src/users/entities/user.entity';
import { UsersService } from '../src/users/users.service';
import { createUser, loginToken, TEST_PASSWORD, uniqueUsername } from './helpers/factories';
import { startSmtpServer, tokenIn, type TestSmtpServer } from './helpers/smtp-server';
import { createTestApp, type TestApp } from './helpers/test-app';

// Email verification (SPEC §8) end to end: the mail registration queues arrives at a real SMTP
// server (test/helpers/smtp-server.ts) and its token verifies the address once.

const VERIFY = '/api/v1/auth/email/verify';
const RESEND = '/api/v1/auth/email/verify/resend';
const VERIFY_PAGE = '/account/verify-email';

async function startApp(smtp: TestSmtpServer, env: Record<string, string> = {}): Promise<TestApp> {
  return createTestApp({
    env: { SMTP_URL: smtp.url, MAIL_FROM: 'Identity <no-reply@id.example.com>', ...env },
  });
}

/** Registers through the API; the account's name and address. */
async function register(t: TestApp): Promise<{ username: string; email: string; id: string }> {
  const username = uniqueUsername('verify');
  const email = `${username}@example.com`;
  const response = await t
    .http()
    .post('/api/v1/auth/register')
    .send({ username, email, password: TEST_PASSWORD })
    .expect(201);
  return { username, email, id: (response.body as { id: string }).id };
}

/** The token of the `nth` (1-based) verification mail to `email`. */
async function verificationToken(smtp: TestSmtpServer, email: string, nth = 1): Promise<string> {
  return tokenIn(await smtp.waitForMailTo(email, undefined, { nth }), VERIFY_PAGE);
}

async function auditTypes(t: TestApp, userId: string): Promise<string[]> {
  const events = await t.dataSource
    .getRepository(AuditEvent)
    .find({ where: { subjectUserId: userId }, order: { sequence: 'ASC' } });
  return events.map((event) => event.type);
}

describe('email verification (EMAIL_VERIFICATION=optional)', () => {
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

  it('mails a link after registration whose token verifies the address once', async () => {
    const account = await register(t);
    const mail = await smtp.waitForMail((one) => one.envelope.to.includes(account.email));
    assert.match(mail.subject ?? '', /Verify your email address/);
    assert.ok((mail.html || '').includes(account.username));
    const token = tokenIn(mail, VERIFY_PAGE);
    assert.ok((mail.text ?? '').includes(`    ${token}`), 'the token to paste');
    assert.match(mail.text ?? '', /24 hours/);

    const verified = await t.http().post(VERIFY).send({ token }).expect(200);
    assert.equal(verified.body.id, account.id);
    assert.equal(verified.body.emailVerified, true);
    const me = await t
      .http()
      .get('/api/v1/users/me')
      .set('Authorization', `Bearer ${await loginToken(t, account.username)}`)
      .expect(200);
    assert.equal(me.body.emailVerified, true);

    const again = await t.http().post(VERIFY).send({ token }).expect(400);
    assert.match(again.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.equal(again.body.type, 'urn:problem:identity:invalid-account-token');
    assert.equal(again.body.detail, 'The link is invalid, expired or already used');
    assert.deepEqual(
      (await auditTypes(t, account.id)).filter((type) => type.startsWith('user.')),
      ['user.registered', 'user.email_verification_sent', 'user.email_verified'],
    );
  });

  it('refuses an expired token, a malformed one and one for an address the account left', async () => {
    const account = await register(t);
    const token = await verificationToken(smtp, account.email);
    t.clock.advance(t.config.accountLifecycle.verificationTtlSeconds + 1);
    const expired = await t.http().post(VERIFY).send({ token }).expect(400);
    assert.equal(expired.body.type, 'urn:problem:identity:invalid-account-token');

    const malformed = await t.http().post(VERIFY).send({ token: 'not-a-token' }).expect(400);
    assert.equal(malformed.body.type, 'urn:problem:identity:validation-failed');

    // A token mailed to the old address verifies nothing once the account has another one.
    const moved = await register(t);
    const moving = await verificationToken(smtp, moved.email);
    await t.dataSource
      .getRepository(User)
      .update({ id: moved.id }, { email: `elsewhere-${moved.email}` });
    const stale = await t.http().post(VERIFY).send({ token: moving }).expect(400);
    assert.equal(stale.body.type, 'urn:problem:identity:invalid-account-token');
    const row = await t.dataSource.getRepository(User).findOneByOrFail({ id: moved.id });
    assert.equal(row.emailVerifiedAt, null);
  });

  it('lets a resent mail replace the older token, and answers 409 once verified', async () => {
    const account = await register(t);
    const first = await verificationToken(smtp, account.email);
    const access = await loginToken(t, account.username);
    const resent = await t.http().post(RESEND).set('Authorization', `Bearer ${access}`).expect(202);
    assert.equal(resent.body.message, 'A new verification link is on its way to your address');
    const second = await verificationToken(smtp, account.email, 2);
    assert.notEqual(second, first);

    await t.http().post(VERIFY).send({ token: first }).expect(400);
    await t.http().post(VERIFY).send({ token: second }).expect(200);
    const verified = await t
      .http()
      .post(RESEND)
      .set('Authorization', `Bearer ${access}`)
      .expect(409);
    assert.equal(verified.body.type, 'urn:problem:identity:email-already-verified');
  });

  it('lets a password change end a pending verification link (SPEC §8), as it ends reset links', async () => {
    const account = await register(t);
    const token = await verificationToken(smtp, account.email);
    const access = await loginToken(t, account.username);
    await t
      .http()
      .post('/api/v1/users/me/password')
      .set('Authorization', `Bearer ${access}`)
      .send({ currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-passphrase-9' })
      .expect(200);
    const refused = await t.http().post(VERIFY).send({ token });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.type, 'urn:problem:identity:invalid-account-token');
  });

  it('sends nothing for a registration that rolls back', async () => {
    const audit = t.app.get(AuditService);
    const record = audit.record.bind(audit);
    // The failure comes after the mail was queued in the registration's transaction.
    audit.record = (tx, event, context) =>
      event.type === 'user.email_verification_sent'
        ? Promise.reject(new Error('forced failure'))
        : record(tx, event, context);
    const username = uniqueUsername('rollback');
    const email = `${username}@example.com`;
    try {
      await t
        .http()
        .post('/api/v1/auth/register')
        .send({ username, email, password: TEST_PASSWORD })
        .expect(500);
    } finally {
      audit.record = record;
    }
    assert.equal(await t.dataSource.getRepository(User).countBy({ username }), 0);
    assert.equal(await t.dataSource.getRepository(OutboxMail).countBy({ recipient: email }), 0);
    // A later registration's mail goes out; the rolled-back one never did.
    const later = await register(t);
    await verificationToken(smtp, later.email);
    assert.equal(smtp.mails.filter((mail) => mail.envelope.to.includes(email)).length, 0);
  });
});

describe('email verification with rate limits on', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await startApp(smtp, {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_IP_PER_MINUTE: '100',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '3',
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('limits resends per account (429 with Retry-After)', async () => {
    const account = await register(t);
    // The login counts against the account's bucket too.
    const access = await loginToken(t, account.username);
    const statuses: number[] = [];
    let refused: { headers: Record<string, string>; body: Record<string, unknown> } | undefined;
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const response = await t.http().post(RESEND).set('Authorization', `Bearer ${access}`);
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }
    assert.deepEqual(statuses, [202, 202, 429, 429]);
    assert.ok(refused);
    assert.match(refused.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    assert.equal(refused.body.type, 'urn:problem:identity:rate-limited');
  });
});

describe('email verification (EMAIL_VERIFICATION=required)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await startApp(smtp, { EMAIL_VERIFICATION: 'required' });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('lets an unverified account log in and use only the allow-list, then everything at once after verifying', async () => {
    const account = await register(t);
    const access = await loginToken(t, account.username);
    const bearer = `Bearer ${access}`;

    const refused = await t.http().get('/api/v1/content/user').set('Authorization', bearer);
    assert.equal(refused.status, 403);
    assert.match(refused.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.equal(refused.body.type, 'urn:problem:identity:email-not-verified');
    assert.equal(
      refused.body.detail,
      'Verify your email address first: follow the link mailed to it',
    );

    // The allow-list: what the account needs to get verified, or to leave.
    const me = await t.http().get('/api/v1/users/me').set('Authorization', bearer).expect(200);
    assert.equal(me.body.emailVerified, false);
    await t.http().get('/api/v1/auth/sessions').set('Authorization', bearer).expect(200);
    await t.http().post(RESEND).set('Authorization', bearer).expect(202);

    const token = await verificationToken(smtp, account.email, 2);
    await t.http().post(VERIFY).send({ token }).expect(200);
    // The same access token, on the very next request.
    await t.http().get('/api/v1/content/user').set('Authorization', bearer).expect(200);
    await t.http().post('/api/v1/auth/logout').set('Authorization', bearer).expect(204);
  });

  it("lets an admin's emailVerified count on the account's very next request", async () => {
    const admin = await createUser(t, { roles: [RoleName.User, RoleName.Admin] });
    await t.app
      .get(Transactions)
      .run((tx) =>
        t.app.get(UsersService).markEmailVerified(tx, admin.user.id, admin.email, new Date()),
      );
    const adminBearer = `Bearer ${await loginToken(t, admin.username)}`;
    const { username, user } = await createUser(t);
    const bearer = `Bearer ${await loginToken(t, username)}`;
    // Refused first: the account state is now in the auth-state cache.
    await t.http().get('/api/v1/content/user').set('Authorization', bearer).expect(403);
    await t
      .http()
      .patch(`/api/v1/users/${user.id}`)
      .set('Authorization', adminBearer)
      .send({ emailVerified: true })
      .expect(200);
    await t.http().get('/api/v1/content/user').set('Authorization', bearer).expect(200);
  });

  it('lets an unverified account fix a mistyped address: the confirmed new one is verified', async () => {
    const account = await register(t);
    const bearer = `Bearer ${await loginToken(t, account.username)}`;
    const newEmail = `fixed-${account.email}`;
    await t
      .http()
      .post('/api/v1/users/me/email')
      .set('Authorization', bearer)
      .send({ newEmail, currentPassword: TEST_PASSWORD })
      .expect(202);
    const confirmation = await smtp.waitForMailTo(newEmail);
    const token = tokenIn(confirmation, '/account/confirm-email-change');
    await t.http().post('/api/v1/auth/email/change/confirm').send({ token }).expect(204);
    await t.http().get('/api/v1/content/user').set('Authorization', bearer).expect(200);
  });

  it('leaves accounts made without registration (CLI, import) to the same rule', async () => {
    const { username } = await createUser(t);
    const bearer = `Bearer ${await loginToken(t, username)}`;
    await t.http().get('/api/v1/content/user').set('Authorization', bearer).expect(403);
    await t.http().post('/api/v1/auth/logout-all').set('Authorization', bearer).expect(204);
  });
});

describe('email verification (EMAIL_VERIFICATION=off)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await startApp(smtp, { EMAIL_VERIFICATION: 'off' });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('queues no mail at registration and answers 404 feature_disabled on the routes', async () => {
    const account = await register(t);
    // Queued in the registration's transaction or not at all: the 201 came after its commit.
    assert.equal(
      await t.dataSource.getRepository(OutboxMail).countBy({ recipient: account.email }),
      0,
    );
    const verify = await t
      .http()
      .post(VERIFY)
      .send({ token: 'A'.repeat(43) })
      .expect(404);
    assert.equal(verify.body.type, 'urn:problem:identity:feature-disabled');
    assert.equal(verify.body.detail, 'Email verification is not enabled on this service');
    const access = await loginToken(t, account.username);
    await t.http().post(RESEND).set('Authorization', `Bearer ${access}`).expect(404);
    // Nothing is withheld from an unverified account.
    await t.http().get('/api/v1/content/user').set('Authorization', `Bearer ${access}`).expect(200);
  });
});

describe('account tokens (AccountTokens on the real database)', () => {
  let t: TestApp;
  let tokens: AccountTokens;
  let transactions: Transactions;
  before(async () => {
    t = await createTestApp();
    tokens = t.app.get(AccountTokens);
    transactions = t.app.get(Transactions);
  });
  after(async () => {
    await t.close();
  });

  const issue = (userId: string, purpose: 'email_verification' | 'password_reset', ttl = 600) =>
    transactions.run((tx) =>
      tokens.issue(tx, { userId, purpose, email: 'x@example.com', ttlSeconds: ttl }),
    );
  const consume = (purpose: 'email_verification' | 'password_reset', token: string) =>
    transactions.run((tx) => tokens.consume(tx, purpose, token));

  it('spends a token once, for its purpose only, and only before it expires', async () => {
    const { user } = await createUser(t);
    const token = await issue(user.id, 'password_reset', 60);
    assert.deepEqual(await tokens.peek('password_reset', token), {
      userId: user.id,
      email: 'x@example.com',
    });
    assert.equal(await consume('email_verification', token), null);
    assert.deepEqual(await consume('password_reset', token), {
      userId: user.id,
      email: 'x@example.com',
    });
    assert.equal(await consume('password_reset', token), null);
    assert.equal(await tokens.peek('password_reset', token), null);

    const late = await issue(user.id, 'password_reset', 60);
    t.clock.advance(61);
    assert.equal(await tokens.peek('password_reset', late), null);
    assert.equal(await consume('password_reset', late), null);
  });

  it('lets a newer token, or spendAll, spend the older ones of the same purpose alone', async () => {
    const { user } = await createUser(t);
    const older = await issue(user.id, 'password_reset');
    const verification = await issue(user.id, 'email_verification');
    const newer = await issue(user.id, 'password_reset');
    assert.equal(await consume('password_reset', older), null);
    await transactions.run((tx) => tokens.spendAll(tx, user.id, 'password_reset'));
    assert.equal(await consume('password_reset', newer), null);
    assert.equal((await consume('email_verification', verification))?.userId, user.id);
  });

  it('leaves one usable token of concurrent issues: a newer one replaces every older one', async () => {
    const { user } = await createUser(t);
    const issued = await Promise.all(
      Array.from({ length: 8 }, () => issue(user.id, 'password_reset')),
    );
    const usable = await Promise.all(issued.map((token) => tokens.peek('password_reset', token)));
    assert.equal(usable.filter((found) => found !== null).length, 1);
  });

  it('gives a token to exactly one of concurrent consumers', async () => {
    const { user } = await createUser(t);
    const token = await issue(user.id, 'password_reset');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => consume('password_reset', token)),
    );
    assert.equal(results.filter((result) => result !== null).length, 1);
  });
});
