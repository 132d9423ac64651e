import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { Passkey } from '../src/mfa/entities/passkey.entity';
import { RecoveryCode } from '../src/mfa/entities/recovery-code.entity';
import { TotpFactor } from '../src/mfa/entities/totp-factor.entity';
import { Session } from '../src/sessions/session.entity';
import { createUser, createUserWithToken, loginPair, loginToken } from './helpers/factories';
import { enrolTotp } from './helpers/mfa';
import { passkeyRow } from './helpers/passkey-row';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server';
import { createTestApp, type TestApp } from './helpers/test-app';

interface Problem {
  type: string;
}

const as = (token: string) => ({ Authorization: `Bearer ${token}` });

describe("an administrator's view and reset of a user's second factors (SPEC §9)", () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createUserWithToken>>;
  let moderator: Awaited<ReturnType<typeof createUserWithToken>>;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({ env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '100' } });
    admin = await createUserWithToken(t, {
      roles: [RoleName.User, RoleName.Moderator, RoleName.Admin],
    });
    moderator = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Moderator] });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  /** A user with TOTP, recovery codes, a passkey and two live sessions. */
  async function enrolledUser() {
    const user = await createUser(t);
    // Sessions from before the enrolment (a password login now asks for the factor).
    const first = await loginPair(t, user.username);
    const second = await loginToken(t, user.username);
    const { secret, recoveryCodes } = await enrolTotp(t, user.user);
    await t.dataSource.getRepository(Passkey).insert(passkeyRow(user.user.id));
    return { ...user, secret, recoveryCodes, first, second };
  }

  it('shows a user its second factors to moderators and administrators, no secret', async () => {
    const user = await enrolledUser();
    for (const staff of [moderator, admin]) {
      const shown = await t
        .http()
        .get(`/api/v1/users/${user.user.id}/mfa`)
        .set(as(staff.token))
        .expect(200);
      assert.deepEqual(shown.body, {
        methods: ['totp', 'passkey'],
        totp: { enabled: true, pending: false },
        passkeys: 1,
        recoveryCodesRemaining: 10,
      });
      assert.ok(!JSON.stringify(shown.body).includes(user.secret));
    }
    const self = await createUserWithToken(t);
    assert.equal(
      (await t.http().get(`/api/v1/users/${user.user.id}/mfa`).set(as(self.token))).status,
      403,
    );
    const unknown = await t.http().get(`/api/v1/users/${randomUUID()}/mfa`).set(as(admin.token));
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as Problem).type, 'urn:problem:identity:user-not-found');
  });

  it('resets in one step: factors, passkeys and recovery codes gone, every session dead, audited, mailed', async () => {
    const user = await enrolledUser();
    await t.http().get('/api/v1/users/me').set(as(user.second)).expect(200);

    const reset = await t.http().delete(`/api/v1/users/${user.user.id}/mfa`).set(as(admin.token));
    assert.equal(reset.status, 204);

    const userId = user.user.id;
    assert.equal(await t.dataSource.getRepository(TotpFactor).countBy({ userId }), 0);
    assert.equal(await t.dataSource.getRepository(RecoveryCode).countBy({ userId }), 0);
    assert.equal(await t.dataSource.getRepository(Passkey).countBy({ userId }), 0);
    // The old access tokens and refresh token stop working at once.
    assert.equal((await t.http().get('/api/v1/users/me').set(as(user.second))).status, 401);
    assert.equal(
      (await t.http().get('/api/v1/users/me').set(as(user.first.access_token))).status,
      401,
    );
    assert.equal(
      (
        await t
          .http()
          .post('/api/v1/auth/refresh')
          .send({ refresh_token: user.first.refresh_token })
      ).status,
      401,
    );
    const sessions = await t.dataSource.getRepository(Session).findBy({ userId });
    assert.equal(sessions.length, 2);
    assert.ok(sessions.every((session) => session.revokeReason === 'mfa_reset'));

    const [event, ...more] = await t.dataSource
      .getRepository(AuditEvent)
      .findBy({ type: 'mfa.reset_by_admin', subjectUserId: userId });
    assert.equal(more.length, 0);
    assert.equal(event?.actorId, admin.user.id);
    assert.deepEqual(JSON.parse(event.details) as unknown, {
      passkeysRemoved: 1,
      recoveryCodesRemoved: 10,
      sessionsRevoked: 2,
      totpRemoved: true,
      via: 'api',
    });

    const mail = await smtp.waitForMailTo(user.email, /reset by an administrator/);
    assert.match(mail.text ?? '', /set up a second factor again/);
    const body = `${mail.text}\n${String(mail.html)}`;
    assert.ok(!body.includes(user.secret));
    assert.ok(user.recoveryCodes.every((code) => !body.includes(code)));

    // The password alone signs in again, and the user sees no factor.
    const token = await loginToken(t, user.username);
    const me = (await t.http().get('/api/v1/users/me').set(as(token)).expect(200)).body as {
      mfaMethods: string[];
    };
    assert.deepEqual(me.mfaMethods, []);
  });

  it('is for administrators only; 404 for an unknown user; other users keep their factors', async () => {
    const user = await enrolledUser();
    const bystander = await enrolledUser();
    const self = await createUserWithToken(t);
    for (const token of [moderator.token, self.token]) {
      const refused = await t.http().delete(`/api/v1/users/${user.user.id}/mfa`).set(as(token));
      assert.equal(refused.status, 403);
    }
    assert.equal((await t.http().delete(`/api/v1/users/${user.user.id}/mfa`)).status, 401);
    const unknown = await t.http().delete(`/api/v1/users/${randomUUID()}/mfa`).set(as(admin.token));
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as Problem).type, 'urn:problem:identity:user-not-found');
    // Nothing was touched by the refusals.
    assert.equal(await t.dataSource.getRepository(TotpFactor).countBy({ userId: user.user.id }), 1);
    await t.http().delete(`/api/v1/users/${user.user.id}/mfa`).set(as(admin.token)).expect(204);
    assert.equal(
      await t.dataSource.getRepository(TotpFactor).countBy({ userId: bystander.user.id }),
      1,
    );
    assert.equal(
      await t.dataSource.getRepository(Passkey).countBy({ userId: bystander.user.id }),
      1,
    );
    await t.http().get('/api/v1/users/me').set(as(bystander.second)).expect(200);
  });
});

describe('the reset route rate limit', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_IP_PER_MINUTE: '2' },
    });
  });
  after(() => t.close());

  it('answers 429 with Retry-After past RATE_LIMIT_IP_PER_MINUTE', async () => {
    const admin = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
    const user = await createUser(t);
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await t
        .http()
        .delete(`/api/v1/users/${user.user.id}/mfa`)
        .set(as(admin.token));
      statuses.push(response.status);
      retryAfter ??= response.headers['retry-after'];
    }
    // The admin's login counted in the same per-IP bucket: one reset gets through, then 429.
    assert.deepEqual(statuses, [204, 429, 429]);
    assert.match(retryAfter ?? '', /^[1-9]\d*$/);
  });
});
