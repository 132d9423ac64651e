import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Session } from '../src/sessions/session.entity';
import { User } from '../src/users/entities/user.entity';
import { createUser } from './helpers/factories';
import { claimsOf, events, mfaToken, passwordSession } from './helpers/mfa-login';
import { enrolTotp, totpCode } from './helpers/mfa';
import { createTestApp, type TestApp } from './helpers/test-app';

const LOGIN = '/api/v1/auth/login';
const VERIFY = '/api/v1/auth/mfa/verify';

describe('login with a second factor: POST /auth/login, /auth/mfa/verify (SPEC §9)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { LOCKOUT_THRESHOLD: '3', MFA_TOKEN_MAX_ATTEMPTS: '5' } });
  });
  after(() => t.close());

  const verify = (body: Record<string, unknown>) => t.http().post(VERIFY).send(body);

  it('answers an enrolled user mfa_required with the methods, no tokens and no session (JSON and form)', async () => {
    const user = await createUser(t);
    await enrolTotp(t, user.user);
    const json = await t
      .http()
      .post(LOGIN)
      .send({ username: user.username, password: user.password })
      .expect(200);
    assert.deepEqual(Object.keys(json.body as object).sort(), [
      'expires_in',
      'methods',
      'mfa_required',
      'mfa_token',
    ]);
    assert.deepEqual(json.body, {
      mfa_required: true,
      mfa_token: (json.body as { mfa_token: string }).mfa_token,
      methods: ['totp', 'recovery_code'],
      expires_in: 300,
    });
    assert.match((json.body as { mfa_token: string }).mfa_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(json.headers['set-cookie'], undefined);
    const form = await t
      .http()
      .post(LOGIN)
      .type('form')
      .send(`username=${user.username}&password=${encodeURIComponent(user.password)}`)
      .expect(200);
    assert.equal((form.body as { mfa_required: boolean }).mfa_required, true);
    assert.equal(await t.dataSource.getRepository(Session).countBy({ userId: user.user.id }), 0);
  });

  it('gives a user without a second factor the pair at once, amr pwd and no mfa_time', async () => {
    const user = await createUser(t);
    const response = await t
      .http()
      .post(LOGIN)
      .send({ username: user.username, password: user.password })
      .expect(200);
    const claims = claimsOf((response.body as { access_token: string }).access_token);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal('mfa_time' in claims, false);
  });

  it('returns the pair for a TOTP code (amr pwd, otp, mfa; mfa_time now), and a code works once', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    const code = await totpCode(t, secret);
    const response = await verify({ mfa_token: token, code }).expect(200);
    const pair = response.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(pair).sort(), [
      'access_token',
      'expires_in',
      'refresh_expires_in',
      'refresh_token',
      'token_type',
    ]);
    assert.equal(response.headers['cache-control'], 'no-store');
    const claims = claimsOf(pair.access_token as string);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.mfa_time, t.clock.nowSeconds());
    const session = await t.dataSource
      .getRepository(Session)
      .findOneByOrFail({ userId: user.user.id });
    assert.equal(session.id, claims.sid);
    assert.equal(session.amr, 'pwd,otp,mfa');
    assert.equal(session.mfaAt?.getTime(), t.clock.now().getTime());
    await t
      .http()
      .get('/api/v1/users/me')
      .set('Authorization', `Bearer ${pair.access_token as string}`)
      .expect(200);
    const [verified] = await events(t, 'mfa.verified', user.user.id);
    assert.deepEqual(verified?.details, { method: 'totp', sessionId: session.id });

    // The same code again, on a new login: spent.
    const replay = await verify({ mfa_token: await mfaToken(t, user), code }).expect(401);
    assert.equal((replay.body as { type: string }).type, 'urn:problem:identity:invalid-mfa-code');
    const [failed] = await events(t, 'mfa.failed', user.user.id);
    assert.equal(failed?.details.method, 'totp');
  });

  it('accepts a code one step off either way, refuses two steps off', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    // Steps past the one the enrolment's code spent: two steps back is unspent (only too old).
    t.clock.advance(90);
    for (const steps of [-2, 2]) {
      const refused = await verify({
        mfa_token: await mfaToken(t, user),
        code: await totpCode(t, secret, steps),
      });
      assert.equal(refused.status, 401, `${steps} steps`);
    }
    // Earlier step first: a later accepted step makes the earlier ones unusable.
    for (const steps of [-1, 1]) {
      const accepted = await verify({
        mfa_token: await mfaToken(t, user),
        code: await totpCode(t, secret, steps),
      });
      assert.equal(accepted.status, 200, `${steps} steps`);
    }
  });

  it('takes a recovery code once (amr pwd, recovery_code, mfa), audited with what is left', async () => {
    const user = await createUser(t);
    const { recoveryCodes } = await enrolTotp(t, user.user);
    const [recoveryCode] = recoveryCodes;
    assert.ok(recoveryCode);
    const response = await verify({
      mfa_token: await mfaToken(t, user),
      recovery_code: recoveryCode.toUpperCase(),
    }).expect(200);
    const claims = claimsOf((response.body as { access_token: string }).access_token);
    assert.deepEqual(claims.amr, ['pwd', 'recovery_code', 'mfa']);
    const [used] = await events(t, 'mfa.recovery_code_used', user.user.id);
    assert.deepEqual(used?.details, { remaining: 9 });
    const again = await verify({
      mfa_token: await mfaToken(t, user),
      recovery_code: recoveryCode,
    }).expect(401);
    assert.equal((again.body as { type: string }).type, 'urn:problem:identity:invalid-mfa-code');
  });

  it('wants exactly one of code and recovery_code', async () => {
    const user = await createUser(t);
    const { secret, recoveryCodes } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    const both = await verify({
      mfa_token: token,
      code: await totpCode(t, secret),
      recovery_code: recoveryCodes[0],
    }).expect(400);
    assert.equal((both.body as { type: string }).type, 'urn:problem:identity:validation-failed');
    await verify({ mfa_token: token }).expect(400);
    await verify({ mfa_token: token, code: '123456', extra: 1 }).expect(400);
    // Nothing was spent: the token still works.
    await verify({ mfa_token: token, code: await totpCode(t, secret) }).expect(200);
  });

  it('counts wrong codes toward the lockout: locked, the right code gets the login answer', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await verify({ mfa_token: token, code: '000000' }).expect(401);
    }
    assert.equal((await events(t, 'user.locked', user.user.id)).length, 1);
    const locked = await verify({ mfa_token: token, code: await totpCode(t, secret) }).expect(401);
    const login = await t
      .http()
      .post(LOGIN)
      .send({ username: user.username, password: user.password })
      .expect(401);
    assert.deepEqual(
      { ...(locked.body as object), instance: null },
      { ...(login.body as object), instance: null },
    );
    assert.equal(
      (locked.body as { type: string }).type,
      'urn:problem:identity:invalid-credentials',
    );
    assert.equal(await t.dataSource.getRepository(Session).countBy({ userId: user.user.id }), 0);
  });

  it('does not let a known password reset the count: fresh logins with one wrong code each lock the account', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    // Each round: the right password, then one wrong code. Were the right password to reset
    // the failures, this could go on for ever; LOCKOUT_THRESHOLD is 3 here.
    for (let round = 0; round < 3; round += 1) {
      const token = await mfaToken(t, user);
      await verify({ mfa_token: token, code: '000000' }).expect(401);
    }
    const locked = await t.dataSource.getRepository(User).findOneByOrFail({ id: user.user.id });
    assert.ok(locked.lockedUntil !== null && locked.lockedUntil > t.clock.now());
    await t
      .http()
      .post(LOGIN)
      .send({ username: user.username, password: user.password })
      .expect(401);
    // Once the lock has passed, the right password and code sign in and clear the count.
    t.clock.advance(t.config.lockout.maxSeconds + 1);
    const token = await mfaToken(t, user);
    await verify({ mfa_token: token, code: await totpCode(t, secret) }).expect(200);
    const row = await t.dataSource.getRepository(User).findOneByOrFail({ id: user.user.id });
    assert.equal(row.failedLoginCount, 0);
  });

  it('refuses the mfa_token as a bearer token and as a refresh token', async () => {
    const user = await createUser(t);
    await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    const bearer = await t
      .http()
      .get('/api/v1/users/me')
      .set('Authorization', `Bearer ${token}`)
      .expect(401);
    assert.equal((bearer.body as { type: string }).type, 'urn:problem:identity:invalid-token');
    const refresh = await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: token })
      .expect(401);
    assert.equal((refresh.body as { error: string }).error, 'invalid_grant');
    const grant = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send(`grant_type=refresh_token&refresh_token=${token}`)
      .expect(401);
    assert.equal((grant.body as { error: string }).error, 'invalid_grant');
  });

  it('answers one invalid_mfa_token for an unknown, a used and an expired mfa_token', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const used = await mfaToken(t, user);
    await verify({ mfa_token: used, code: await totpCode(t, secret) }).expect(200);
    const expired = await mfaToken(t, user);
    t.clock.advance(301);
    const code = await totpCode(t, secret);
    const answers = await Promise.all(
      [used, expired, randomBytes(32).toString('base64url'), 'short'].map((mfa_token) =>
        verify({ mfa_token, code }),
      ),
    );
    for (const answer of answers) {
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, {
        type: 'urn:problem:identity:invalid-mfa-token',
        title: 'Invalid or expired MFA token',
        status: 401,
        detail: 'The MFA token is invalid, expired or already used',
        instance: VERIFY,
      });
    }
  });

  it('gives exactly one token pair to parallel verifies of one mfa_token with the right code', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    const code = await totpCode(t, secret);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => verify({ mfa_token: token, code })),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status).sort(),
      [200, 401, 401, 401, 401, 401, 401, 401],
    );
    assert.equal(await t.dataSource.getRepository(Session).countBy({ userId: user.user.id }), 1);
  });

  it('refuses the second step of a user deactivated after the password step', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    await t.dataSource.getRepository(User).update({ id: user.user.id }, { isActive: false });
    const response = await verify({ mfa_token: token, code: await totpCode(t, secret) });
    assert.equal(response.status, 401);
    assert.equal(
      (response.body as { type: string }).type,
      'urn:problem:identity:invalid-mfa-token',
    );
    assert.equal(await t.dataSource.getRepository(Session).countBy({ userId: user.user.id }), 0);
  });

  it('refuses an mfa_token issued before a password change: it vouched for the old password', async () => {
    // Someone who phished the old password holds an mfa_token; the owner changes the password
    // (every session ends). A code typed in afterwards must not sign them in all the same.
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    const session = await passwordSession(t, user);
    t.clock.advance(1);
    await t
      .http()
      .post('/api/v1/users/me/password')
      .set('Authorization', `Bearer ${session.access_token}`)
      .send({ currentPassword: user.password, newPassword: 'a-brand-new-passphrase-9' })
      .expect(200);
    const before = await t.dataSource.getRepository(Session).countBy({ userId: user.user.id });
    const response = await verify({ mfa_token: token, code: await totpCode(t, secret) });
    assert.equal(response.status, 401);
    assert.equal(
      (response.body as { type: string }).type,
      'urn:problem:identity:invalid-mfa-token',
    );
    assert.equal(
      await t.dataSource.getRepository(Session).countBy({ userId: user.user.id }),
      before,
    );
  });

  it('keeps amr and mfa_time through refresh rotation', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const first = (
      await verify({ mfa_token: await mfaToken(t, user), code: await totpCode(t, secret) }).expect(
        200,
      )
    ).body as { access_token: string; refresh_token: string };
    const mfaTime = claimsOf(first.access_token).mfa_time;
    t.clock.advance(60);
    const refreshed = await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: first.refresh_token })
      .expect(200);
    const claims = claimsOf((refreshed.body as { access_token: string }).access_token);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.mfa_time, mfaTime);
    assert.equal(claims.iat, t.clock.nowSeconds());
  });

  it('answers the password grant of an enrolled user 403 mfa_required with an mfa_token that verifies', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const response = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send(`grant_type=password&username=${user.username}&password=${user.password}`)
      .expect(403);
    const body = response.body as Record<string, unknown>;
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.deepEqual(
      { ...body, mfa_token: typeof body.mfa_token },
      {
        error: 'mfa_required',
        error_description:
          'Multi-factor authentication required: POST the mfa_token and a code to /auth/mfa/verify',
        mfa_token: 'string',
        methods: ['totp', 'recovery_code'],
        expires_in: 300,
      },
    );
    await verify({ mfa_token: body.mfa_token, code: await totpCode(t, secret) }).expect(200);
  });
});

describe('the mfa_token dies after MFA_TOKEN_MAX_ATTEMPTS wrong codes', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MFA_TOKEN_MAX_ATTEMPTS: '2' } });
  });
  after(() => t.close());

  it('refuses even the right code after two wrong ones', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await t.http().post(VERIFY).send({ mfa_token: token, code: '000000' }).expect(401);
    }
    const dead = await t
      .http()
      .post(VERIFY)
      .send({ mfa_token: token, code: await totpCode(t, secret) })
      .expect(401);
    assert.equal((dead.body as { type: string }).type, 'urn:problem:identity:invalid-mfa-token');
    const failures = await events(t, 'mfa.failed', user.user.id);
    assert.deepEqual(
      failures.map((event) => event.details.challengeDied),
      [false, true],
    );
    // A new login starts over (the code is unspent).
    await t
      .http()
      .post(VERIFY)
      .send({ mfa_token: await mfaToken(t, user), code: await totpCode(t, secret) })
      .expect(200);
  });
});

describe('MFA_TOKEN_MAX_ATTEMPTS under parallel answers', () => {
  let t: TestApp;
  before(async () => {
    // The lockout would bound the guesses too: set high, so the mfa_token's own limit shows.
    t = await createTestApp({ env: { MFA_TOKEN_MAX_ATTEMPTS: '2', LOCKOUT_THRESHOLD: '50' } });
  });
  after(() => t.close());

  it('checks no more answers of one mfa_token than it takes, however many arrive at once', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    const wrong = (await totpCode(t, secret)) === '000000' ? '111111' : '000000';
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.http().post(VERIFY).send({ mfa_token: token, code: wrong }),
      ),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array.from({ length: 10 }, () => 401),
    );
    const checked = await events(t, 'mfa.failed', user.user.id);
    assert.equal(checked.length, 2);
    await t
      .http()
      .post(VERIFY)
      .send({ mfa_token: token, code: await totpCode(t, secret) })
      .expect(401);
  });
});

describe('MFA_ENABLED=false', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MFA_ENABLED: 'false' } });
  });
  after(() => t.close());

  it('never asks for a second factor; /auth/mfa/* answer 404 feature_disabled', async () => {
    const user = await createUser(t);
    await enrolTotp(t, user.user);
    const login = await t
      .http()
      .post(LOGIN)
      .send({ username: user.username, password: user.password })
      .expect(200);
    const pair = login.body as { access_token: string };
    assert.deepEqual(claimsOf(pair.access_token).amr, ['pwd']);
    const verify = await t
      .http()
      .post(VERIFY)
      .send({ mfa_token: randomBytes(32).toString('base64url'), code: '123456' })
      .expect(404);
    assert.equal((verify.body as { type: string }).type, 'urn:problem:identity:feature-disabled');
    await t
      .http()
      .post('/api/v1/auth/mfa/step-up')
      .set('Authorization', `Bearer ${pair.access_token}`)
      .send({ code: '123456' })
      .expect(404);
    // Nothing demands a second factor no one could prove.
    await t
      .http()
      .get('/api/v1/content/step-up')
      .set('Authorization', `Bearer ${pair.access_token}`)
      .expect(200);
  });
});

describe('rate limits of POST /auth/mfa/verify', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: {
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_IP_PER_MINUTE: '6',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '3',
      },
    });
  });
  after(() => t.close());

  it('limits per account (login and verify share the bucket) and per address', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const token = await mfaToken(t, user);
    await t.http().post(VERIFY).send({ mfa_token: token, code: '000000' }).expect(401);
    await t.http().post(VERIFY).send({ mfa_token: token, code: '000000' }).expect(401);
    const limited = await t
      .http()
      .post(VERIFY)
      .send({ mfa_token: token, code: await totpCode(t, secret) })
      .expect(429);
    assert.match(limited.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    // The address: 4 requests so far, unknown tokens reach no account bucket.
    for (let request = 0; request < 2; request += 1) {
      await t
        .http()
        .post(VERIFY)
        .send({ mfa_token: randomBytes(32).toString('base64url'), code: '000000' })
        .expect(401);
    }
    await t
      .http()
      .post(VERIFY)
      .send({ mfa_token: randomBytes(32).toString('base64url'), code: '000000' })
      .expect(429);
  });
});

describe('POST /auth/mfa/verify with REFRESH_TOKEN_COOKIE=true', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { REFRESH_TOKEN_COOKIE: 'true' } });
  });
  after(() => t.close());

  it('sets the refresh cookie as the login does, and the cookie refreshes', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const response = await t
      .http()
      .post(VERIFY)
      .send({ mfa_token: await mfaToken(t, user), code: await totpCode(t, secret) })
      .expect(200);
    assert.equal('refresh_token' in (response.body as object), false);
    const cookies = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
    const cookie = cookies.find((header) => header.startsWith('refresh_token='));
    assert.ok(cookie);
    assert.match(cookie, /HttpOnly/);
    const refreshed = await t
      .http()
      .post('/api/v1/auth/refresh')
      .set('Cookie', cookie.split(';')[0] ?? '')
      .send({})
      .expect(200);
    assert.deepEqual(claimsOf((refreshed.body as { access_token: string }).access_token).amr, [
      'pwd',
      'otp',
      'mfa',
    ]);
  });
});

describe('one code across parallel logins', () => {
  let t: TestApp;
  before(async () => {
    // Room for the wrong answers of the losers: the lockout is not what is tested here.
    t = await createTestApp({ env: { LOCKOUT_THRESHOLD: '50' } });
  });
  after(() => t.close());

  const verify = (body: Record<string, unknown>) => t.http().post(VERIFY).send(body);

  it('takes one TOTP code, and one recovery code, once across parallel logins with their own mfa_tokens', async () => {
    const user = await createUser(t);
    const { secret, recoveryCodes } = await enrolTotp(t, user.user);
    const code = await totpCode(t, secret);
    const tokens = await Promise.all(Array.from({ length: 6 }, () => mfaToken(t, user)));
    const byCode = await Promise.all(tokens.map((token) => verify({ mfa_token: token, code })));
    assert.deepEqual(byCode.map((answer) => answer.status).sort(), [200, 401, 401, 401, 401, 401]);
    const more = await Promise.all(Array.from({ length: 6 }, () => mfaToken(t, user)));
    const byRecovery = await Promise.all(
      more.map((token) => verify({ mfa_token: token, recovery_code: recoveryCodes[0] })),
    );
    assert.deepEqual(
      byRecovery.map((answer) => answer.status).sort(),
      [200, 401, 401, 401, 401, 401],
    );
  });
});
