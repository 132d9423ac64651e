import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { JwtService } from '@nestjs/jwt';
import { RoleName } from '../src/access/role-name';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { Passkey } from '../src/mfa/entities/passkey.entity';
import { RecoveryCode } from '../src/mfa/entities/recovery-code.entity';
import { TotpFactor } from '../src/mfa/entities/totp-factor.entity';
import { RecoveryCodes } from '../src/mfa/recovery-codes/recovery-codes';
import { TotpFactors } from '../src/mfa/totp/totp-factors';
import { createUser, createUserWithToken, loginToken, TEST_PASSWORD } from './helpers/factories';
import { enrolTotp, totpCode } from './helpers/mfa';
import { passkeyRow } from './helpers/passkey-row';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server';
import { createTestApp, type TestApp } from './helpers/test-app';

interface Problem {
  type: string;
  status: number;
}
interface Enrolment {
  secret: string;
  otpauthUri: string;
  qrCode: string;
}
interface Status {
  methods: string[];
  totp: { enabled: boolean; pending: boolean };
  passkeys: number;
  recoveryCodesRemaining: number;
}

const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('enrolling and managing your own second factors (SPEC §9)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '100', LOCKOUT_THRESHOLD: '3' },
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  const start = (token: string, body: object = { currentPassword: TEST_PASSWORD }) =>
    t.http().post('/api/v1/users/me/mfa/totp').set(as(token)).send(body);
  const confirm = (token: string, code: string) =>
    t.http().post('/api/v1/users/me/mfa/totp/confirm').set(as(token)).send({ code });
  const status = async (token: string): Promise<Status> =>
    (await t.http().get('/api/v1/users/me/mfa').set(as(token)).expect(200)).body as Status;
  /** A six-digit code that is none of the codes accepted now (one step of drift either way). */
  const wrongCodeFor = async (secret: string): Promise<string> => {
    const accepted = new Set(
      await Promise.all([-1, 0, 1].map((steps) => totpCode(t, secret, steps))),
    );
    let code = 0;
    while (accepted.has(String(code).padStart(6, '0'))) code += 1;
    return String(code).padStart(6, '0');
  };
  /** Enrols through the API (start + confirm); returns the secret and the recovery codes. */
  const enrolByApi = async (token: string) => {
    const { secret } = (await start(token).expect(201)).body as Enrolment;
    const { recoveryCodes } = (await confirm(token, await totpCode(t, secret)).expect(200))
      .body as { recoveryCodes: string[] };
    // The confirming code's step is spent: the next code of the test is from the next step.
    t.clock.advance(30);
    return { secret, recoveryCodes };
  };

  it('enrols an authenticator: secret, otpauth URI and PNG QR code; a wrong code, then the right one, activates it', async () => {
    const user = await createUserWithToken(t);
    const started = await start(user.token);
    assert.equal(started.status, 201);
    assert.equal(started.headers['cache-control'], 'no-store');
    const enrolment = started.body as Enrolment;
    assert.match(enrolment.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(enrolment.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), enrolment.secret);
    assert.ok(decodeURIComponent(uri.pathname).includes(user.email));
    const png = /^data:image\/png;base64,(.+)$/.exec(enrolment.qrCode);
    assert.ok(png?.[1] !== undefined);
    assert.deepEqual(Buffer.from(png[1], 'base64').subarray(0, 8), PNG_SIGNATURE);

    // At rest the secret is sealed (AES-256-GCM), not in clear or in any easy encoding of it.
    const row = await t.dataSource
      .getRepository(TotpFactor)
      .findOneByOrFail({ userId: user.user.id });
    assert.match(row.secretCiphertext, /^v1\./);
    for (const form of [enrolment.secret, Buffer.from(enrolment.secret).toString('base64')]) {
      assert.ok(!row.secretCiphertext.includes(form), form);
    }
    assert.deepEqual((await status(user.token)).totp, { enabled: false, pending: true });

    const wrong = await confirm(user.token, await wrongCodeFor(enrolment.secret));
    assert.equal(wrong.status, 401);
    assert.equal((wrong.body as Problem).type, 'urn:problem:identity:invalid-mfa-code');
    assert.deepEqual((await status(user.token)).totp, { enabled: false, pending: true });

    const confirmed = await confirm(user.token, await totpCode(t, enrolment.secret));
    assert.equal(confirmed.status, 200);
    assert.equal(confirmed.headers['cache-control'], 'no-store');
    const { recoveryCodes } = confirmed.body as { recoveryCodes: string[] };
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    for (const code of recoveryCodes) assert.match(code, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);

    assert.deepEqual(await status(user.token), {
      methods: ['totp'],
      totp: { enabled: true, pending: false },
      passkeys: 0,
      recoveryCodesRemaining: 10,
    });
    const me = (await t.http().get('/api/v1/users/me').set(as(user.token)).expect(200)).body as {
      mfaMethods: string[];
    };
    assert.deepEqual(me.mfaMethods, ['totp']);
    // The authenticator now answers the factor's checks (what login with a second factor uses).
    t.clock.advance(30);
    assert.equal(
      await t.app.get(TotpFactors).check(user.user.id, await totpCode(t, enrolment.secret)),
      true,
    );

    const types = (
      await t.dataSource.getRepository(AuditEvent).find({
        where: { subjectUserId: user.user.id },
        order: { sequence: 'ASC' },
      })
    ).map((event) => event.type);
    assert.deepEqual(
      types.filter((type) => type.startsWith('mfa.')),
      ['mfa.totp_enrolment_started', 'mfa.totp_enabled'],
    );
  });

  it('mails a notice that a factor was added, with no secret or code in it', async () => {
    const user = await createUserWithToken(t);
    const { secret, recoveryCodes } = await enrolByApi(user.token);
    const mail = await smtp.waitForMailTo(user.email, /A second factor was added/);
    const body = `${mail.subject}\n${mail.text}\n${String(mail.html)}`;
    assert.match(mail.text ?? '', /authenticator app/);
    assert.ok(!body.includes(secret));
    for (const code of recoveryCodes) assert.ok(!body.includes(code), code);
  });

  it('shows the recovery codes once; a new set needs re-authentication and replaces the old', async () => {
    const user = await createUserWithToken(t);
    const { recoveryCodes: first } = await enrolByApi(user.token);
    // Only the count is ever shown again.
    const shown = JSON.stringify(await status(user.token));
    assert.ok(first.every((code) => !shown.includes(code)));
    const rows = await t.dataSource.getRepository(RecoveryCode).findBy({ userId: user.user.id });
    assert.equal(rows.length, 10);
    assert.ok(
      rows.every((row) => !first.includes(row.codeHash) && /^[0-9a-f]{64}$/.test(row.codeHash)),
    );

    const regenerate = (body: object) =>
      t.http().post('/api/v1/users/me/mfa/recovery-codes').set(as(user.token)).send(body);
    const unconfirmed = await regenerate({});
    assert.equal(unconfirmed.status, 401);
    assert.equal(
      (unconfirmed.body as Problem).type,
      'urn:problem:identity:reauthentication-required',
    );
    assert.equal((await regenerate({ currentPassword: 'not-the-password-1' })).status, 401);
    const renewed = await regenerate({ currentPassword: TEST_PASSWORD });
    assert.equal(renewed.status, 200);
    const second = (renewed.body as { recoveryCodes: string[] }).recoveryCodes;
    assert.equal(second.length, 10);
    assert.ok(second.every((code) => !first.includes(code)));

    const codes = t.app.get(RecoveryCodes);
    assert.equal(await codes.consume(user.user.id, first[0] ?? ''), false);
    assert.equal(await codes.consume(user.user.id, second[0] ?? ''), true);
    assert.equal((await status(user.token)).recoveryCodesRemaining, 9);
    const events = await t.dataSource.getRepository(AuditEvent).findBy({
      type: 'mfa.recovery_codes_generated',
      subjectUserId: user.user.id,
    });
    assert.equal(events.length, 1);
  });

  it('refuses recovery codes without a second factor (404), and a second enrolment once active (409)', async () => {
    const user = await createUserWithToken(t);
    const none = await t
      .http()
      .post('/api/v1/users/me/mfa/recovery-codes')
      .set(as(user.token))
      .send({ currentPassword: TEST_PASSWORD });
    assert.equal(none.status, 404);
    assert.equal((none.body as Problem).type, 'urn:problem:identity:mfa-not-enrolled');
    const notStarted = await confirm(user.token, '123456');
    assert.equal(notStarted.status, 404);
    assert.equal((notStarted.body as Problem).type, 'urn:problem:identity:mfa-not-enrolled');

    await enrolByApi(user.token);
    const again = await start(user.token);
    assert.equal(again.status, 409);
    assert.equal((again.body as Problem).type, 'urn:problem:identity:mfa-already-enrolled');
    const reconfirm = await confirm(user.token, '123456');
    assert.equal(reconfirm.status, 409);
  });

  it('restarting a pending enrolment replaces its secret: only the newer one confirms', async () => {
    const user = await createUserWithToken(t);
    const older = (await start(user.token).expect(201)).body as Enrolment;
    const newer = (await start(user.token).expect(201)).body as Enrolment;
    assert.notEqual(older.secret, newer.secret);
    assert.equal((await confirm(user.token, await totpCode(t, older.secret))).status, 401);
    assert.equal((await confirm(user.token, await totpCode(t, newer.secret))).status, 200);
  });

  it('re-authenticates: no password is 401 reauthentication_required, a wrong one is 401 and counts toward the lockout', async () => {
    const user = await createUserWithToken(t);
    const missing = await start(user.token, {});
    assert.equal(missing.status, 401);
    assert.equal((missing.body as Problem).type, 'urn:problem:identity:reauthentication-required');
    assert.equal(await t.dataSource.getRepository(TotpFactor).countBy({ userId: user.user.id }), 0);
    const wrong = await start(user.token, { currentPassword: 'not-the-password-1' });
    assert.equal(wrong.status, 401);
    assert.equal((wrong.body as Problem).type, 'urn:problem:identity:invalid-credentials');
    // LOCKOUT_THRESHOLD=3 here: two more wrong passwords lock the account, the right one too.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await start(user.token, { currentPassword: 'not-the-password-1' }).expect(401);
    }
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(401);
    // Unknown fields are refused, never applied.
    const extra = await start(user.token, { currentPassword: TEST_PASSWORD, secret: 'AAAA' });
    assert.equal(extra.status, 400);
  });

  it('takes a second factor proven in this session within MFA_STEP_UP_MAX_AGE in place of the password', async () => {
    const user = await createUserWithToken(t);
    await enrolByApi(user.token);
    // The token a login with a second factor issues (amr and mfa_time: src/auth), signed as
    // the service signs its own, for the same session.
    const claims = JSON.parse(
      Buffer.from(user.token.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as Record<string, unknown> & { iat: number; exp: number };
    const proven = t.app.get(JwtService).sign({
      ...claims,
      jti: randomUUID(),
      amr: ['pwd', 'otp'],
      mfa_time: claims.iat,
    });
    const regenerate = (token: string) =>
      t.http().post('/api/v1/users/me/mfa/recovery-codes').set(as(token)).send({});
    assert.equal((await regenerate(proven)).status, 200);
    // A token without the proof still needs the password.
    assert.equal((await regenerate(user.token)).status, 401);
    // Past MFA_STEP_UP_MAX_AGE (300 s) the proof no longer stands in.
    t.clock.advance(t.config.mfa.stepUpMaxAgeSeconds + 1);
    const stale = await regenerate(proven);
    assert.equal(stale.status, 401);
    assert.equal((stale.body as Problem).type, 'urn:problem:identity:reauthentication-required');
  });

  it('removes the authenticator with re-authentication: mails a notice, drops the recovery codes, 404 after', async () => {
    const user = await createUserWithToken(t);
    const { secret, recoveryCodes } = await enrolByApi(user.token);
    const remove = (body: object) =>
      t.http().delete('/api/v1/users/me/mfa/totp').set(as(user.token)).send(body);
    const unconfirmed = await remove({});
    assert.equal(unconfirmed.status, 401);
    assert.equal(
      (unconfirmed.body as Problem).type,
      'urn:problem:identity:reauthentication-required',
    );
    assert.equal((await remove({ currentPassword: 'not-the-password-1' })).status, 401);
    // No body at all is the same as no password.
    const bodiless = await t.http().delete('/api/v1/users/me/mfa/totp').set(as(user.token));
    assert.equal(bodiless.status, 401);
    assert.equal((bodiless.body as Problem).type, 'urn:problem:identity:reauthentication-required');
    assert.equal((await status(user.token)).totp.enabled, true);

    assert.equal((await remove({ currentPassword: TEST_PASSWORD })).status, 204);
    assert.deepEqual(await status(user.token), {
      methods: [],
      totp: { enabled: false, pending: false },
      passkeys: 0,
      recoveryCodesRemaining: 0,
    });
    assert.equal(
      await t.dataSource.getRepository(RecoveryCode).countBy({ userId: user.user.id }),
      0,
    );
    assert.equal(
      await t.app.get(TotpFactors).check(user.user.id, await totpCode(t, secret)),
      false,
    );
    const mail = await smtp.waitForMailTo(user.email, /A second factor was removed/);
    assert.match(mail.text ?? '', /no second factor any more/);
    assert.ok(!`${mail.text}${String(mail.html)}`.includes(secret));
    assert.ok(recoveryCodes.every((code) => !(mail.text ?? '').includes(code)));
    const removed = await t.dataSource.getRepository(AuditEvent).findOneByOrFail({
      type: 'mfa.totp_removed',
      subjectUserId: user.user.id,
    });
    assert.equal(removed.actorId, user.user.id);

    const again = await remove({ currentPassword: TEST_PASSWORD });
    assert.equal(again.status, 404);
    assert.equal((again.body as Problem).type, 'urn:problem:identity:mfa-not-enrolled');
    const me = (await t.http().get('/api/v1/users/me').set(as(user.token)).expect(200)).body as {
      mfaMethods: string[];
    };
    assert.deepEqual(me.mfaMethods, []);
  });

  it('keeps the recovery codes when another factor is left (a passkey)', async () => {
    const user = await createUser(t);
    const token = await loginToken(t, user.username);
    await enrolTotp(t, user.user);
    await t.dataSource.getRepository(Passkey).insert(passkeyRow(user.user.id));
    await t
      .http()
      .delete('/api/v1/users/me/mfa/totp')
      .set(as(token))
      .send({ currentPassword: TEST_PASSWORD })
      .expect(204);
    const after = await status(token);
    assert.deepEqual([after.methods, after.recoveryCodesRemaining], [['passkey'], 10]);
    const me = (await t.http().get('/api/v1/users/me').set(as(token)).expect(200)).body as {
      mfaMethods: string[];
    };
    assert.deepEqual(me.mfaMethods, ['passkey']);
  });

  it('requires an access token on every route', async () => {
    for (const [method, path] of [
      ['get', '/api/v1/users/me/mfa'],
      ['post', '/api/v1/users/me/mfa/totp'],
      ['post', '/api/v1/users/me/mfa/totp/confirm'],
      ['delete', '/api/v1/users/me/mfa/totp'],
      ['post', '/api/v1/users/me/mfa/recovery-codes'],
    ] as const) {
      assert.equal((await t.http()[method](path).send({})).status, 401, `${method} ${path}`);
    }
  });
});

describe('second factors with MFA_ENABLED=false', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MFA_ENABLED: 'false' } });
  });
  after(() => t.close());

  it('answers 404 feature_disabled on every second-factor route, and GET /users/me shows none', async () => {
    const user = await createUserWithToken(t);
    const admin = await createUserWithToken(t, {
      roles: [RoleName.User, RoleName.Moderator, RoleName.Admin],
    });
    const routes: Array<[string, 'get' | 'post' | 'delete', string, object]> = [
      [user.token, 'get', '/api/v1/users/me/mfa', {}],
      [user.token, 'post', '/api/v1/users/me/mfa/totp', { currentPassword: TEST_PASSWORD }],
      [user.token, 'post', '/api/v1/users/me/mfa/totp/confirm', { code: '123456' }],
      [user.token, 'delete', '/api/v1/users/me/mfa/totp', { currentPassword: TEST_PASSWORD }],
      [
        user.token,
        'post',
        '/api/v1/users/me/mfa/recovery-codes',
        { currentPassword: TEST_PASSWORD },
      ],
      [admin.token, 'get', `/api/v1/users/${user.user.id}/mfa`, {}],
      [admin.token, 'delete', `/api/v1/users/${user.user.id}/mfa`, {}],
    ];
    for (const [token, method, path, body] of routes) {
      const response = await t.http()[method](path).set(as(token)).send(body);
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(
        (response.body as Problem).type,
        'urn:problem:identity:feature-disabled',
        `${method} ${path}`,
      );
    }
    const me = (await t.http().get('/api/v1/users/me').set(as(user.token)).expect(200)).body as {
      mfaMethods: string[];
    };
    assert.deepEqual(me.mfaMethods, []);
  });
});
