import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { createUser, createUserWithToken, loginToken } from './helpers/factories';
import { startSmtpServer, tokenIn, type TestSmtpServer } from './helpers/smtp-server';
import { createTestApp, testEnvironment, type TestApp } from './helpers/test-app';

const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const RESET = '/account/reset-password';
const NEW_PASSWORD = 'violet-canyon-ledger-93';

describe('administrators and the CLI: reset mails and verified addresses (SPEC §8)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createUserWithToken>>;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({ env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '100' } });
    admin = await createUserWithToken(t, {
      roles: [RoleName.User, RoleName.Moderator, RoleName.Admin],
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  const sendReset = (token: string, id: string) =>
    t.http().post(`/api/v1/users/${id}/password-reset`).set(as(token));
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        DATABASE_URL: '',
        ...testEnvironment(t.database, { SMTP_URL: smtp.url }),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('POST /users/:id/password-reset mails the user a working link, audited with the admin', async () => {
    const user = await createUser(t);
    const sent = await sendReset(admin.token, user.user.id);
    assert.equal(sent.status, 202);
    const token = tokenIn(await smtp.waitForMailTo(user.email, /Reset your password/), RESET);
    // The password stays until the link is used.
    await loginToken(t, user.username);
    await t
      .http()
      .post('/api/v1/auth/password/reset')
      .send({ token, newPassword: NEW_PASSWORD })
      .expect(204);
    await loginToken(t, user.username, NEW_PASSWORD);

    const [event] = await t.dataSource.getRepository(AuditEvent).find({
      where: { type: 'user.password_reset_requested', subjectUserId: user.user.id },
    });
    assert.equal(event?.actorId, admin.user.id);
  });

  it('is for administrators only, 404 for an unknown user, 409 for a deactivated one', async () => {
    const user = await createUserWithToken(t);
    assert.equal((await sendReset(user.token, user.user.id)).status, 403);
    assert.equal((await t.http().post(`/api/v1/users/${user.user.id}/password-reset`)).status, 401);
    assert.equal((await sendReset(admin.token, randomUUID())).status, 404);
    await t
      .http()
      .patch(`/api/v1/users/${user.user.id}`)
      .set(as(admin.token))
      .send({ isActive: false })
      .expect(200);
    const refused = await sendReset(admin.token, user.user.id);
    assert.equal(refused.status, 409);
  });

  it('npm run cli -- password-reset queues the mail; the running server delivers it', async () => {
    const user = await createUser(t);
    const run = cli(['password-reset', '--user', user.email.toUpperCase()]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`Queued a password reset mail to ${user.username}`));
    // The CLI queued it for its own (real) now; the server's clock is a test clock standing still.
    t.clock.advance(60);
    const token = tokenIn(await smtp.waitForMailTo(user.email, /Reset your password/), RESET);
    await t
      .http()
      .post('/api/v1/auth/password/reset')
      .send({ token, newPassword: NEW_PASSWORD })
      .expect(204);

    const unknown = cli(['password-reset', '--user', 'nobody-here']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no user "nobody-here"; nothing was sent/);
    assert.equal(cli(['password-reset']).status, 2);
  });

  it('npm run cli -- email-verified marks an address verified, and --unverified undoes it', async () => {
    const user = await createUser(t);
    const shown = async () =>
      (
        (await t.http().get(`/api/v1/users/${user.user.id}`).set(as(admin.token)).expect(200))
          .body as {
          emailVerified: boolean;
        }
      ).emailVerified;
    assert.equal(await shown(), false);
    const verified = cli(['email-verified', '--user', user.username]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(await shown(), true);
    assert.equal(cli(['email-verified', '--user', user.username, '--unverified']).status, 0);
    assert.equal(await shown(), false);
    const events = await t.dataSource.getRepository(AuditEvent).find({
      where: { type: 'user.updated', subjectUserId: user.user.id },
    });
    assert.equal(events.length, 2);
    assert.ok(events.every((event) => event.actorId === null));
  });
});

describe('an administrator reset mail with PASSWORD_RESET_ENABLED=false', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { PASSWORD_RESET_ENABLED: 'false' } });
  });
  after(async () => {
    await t.close();
  });

  it('answers 404 feature_disabled', async () => {
    const admin = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
    const user = await createUser(t);
    const refused = await t
      .http()
      .post(`/api/v1/users/${user.user.id}/password-reset`)
      .set({ Authorization: `Bearer ${admin.token}` });
    assert.equal(refused.status, 404);
    assert.equal((refused.body as { type: string }).type, 'urn:problem:identity:feature-disabled');
  });
});
