import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { Session } from '../src/sessions/session.entity';
import { createUser, loginPair } from './helpers/factories';
import { enrolTotp, totpCode } from './helpers/mfa';
import { createTestApp, type TestApp } from './helpers/test-app';
import { claimsOf, events, mfaToken, passwordSession } from './helpers/mfa-login';

const STEP_UP = '/api/v1/auth/mfa/step-up';
const GUARDED = '/api/v1/content/step-up';

interface Pair {
  access_token: string;
  refresh_token: string;
  mfa_enrolment_required?: boolean;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('step-up: POST /auth/mfa/step-up and @RequireMfa (RFC 9470)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { LOCKOUT_THRESHOLD: '3' } });
  });
  after(() => t.close());

  it('challenges a password-only token, steps up to a pair of the same session, expires with the clock', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    // A session without a second factor: started before the factor existed.
    const signedIn = await passwordSession(t, user);

    const challenged = await t.http().get(GUARDED).set(bearer(signedIn.access_token)).expect(401);
    assert.equal(
      challenged.headers['www-authenticate'],
      'Bearer realm="api", error="insufficient_user_authentication", ' +
        'error_description="Prove a second factor first: POST /auth/mfa/step-up, then retry with the new token", ' +
        'max_age=300',
    );
    assert.equal(
      (challenged.body as { type: string }).type,
      'urn:problem:identity:mfa-step-up-required',
    );

    const steppedUp = await t
      .http()
      .post(STEP_UP)
      .set(bearer(signedIn.access_token))
      .send({ code: await totpCode(t, secret) })
      .expect(200);
    const pair = steppedUp.body as Pair;
    const claims = claimsOf(pair.access_token);
    assert.equal(claims.sid, claimsOf(signedIn.access_token).sid);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.mfa_time, t.clock.nowSeconds());
    const session = await t.dataSource
      .getRepository(Session)
      .findOneByOrFail({ id: claims.sid as string });
    assert.equal(session.amr, 'pwd,otp,mfa');
    assert.equal(session.mfaAt?.getTime(), t.clock.now().getTime());
    assert.equal((await events(t, 'mfa.step_up', user.user.id)).length, 1);

    await t.http().get(GUARDED).set(bearer(pair.access_token)).expect(200);
    // The refresh token issued before the step-up is replaced; the new one carries the proof.
    await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: signedIn.refresh_token })
      .expect(401);
    const refreshed = await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: pair.refresh_token })
      .expect(200);
    assert.equal(claimsOf((refreshed.body as Pair).access_token).mfa_time, claims.mfa_time);

    // mfa_time has whole seconds: the window ends within a second of 300 s after the step-up.
    t.clock.advance(299);
    await t.http().get(GUARDED).set(bearer(pair.access_token)).expect(200);
    t.clock.advance(2);
    const stale = await t.http().get(GUARDED).set(bearer(pair.access_token)).expect(401);
    assert.match(stale.headers['www-authenticate'] ?? '', /max_age=300$/);
  });

  it('passes a login that proved a second factor straight through', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const verified = await t
      .http()
      .post('/api/v1/auth/mfa/verify')
      .send({ mfa_token: await mfaToken(t, user), code: await totpCode(t, secret) })
      .expect(200);
    await t
      .http()
      .get(GUARDED)
      .set(bearer((verified.body as Pair).access_token))
      .expect(200);
  });

  it('steps up with a recovery code once', async () => {
    const user = await createUser(t);
    const { recoveryCodes } = await enrolTotp(t, user.user);
    const { access_token } = await passwordSession(t, user);
    const response = await t
      .http()
      .post(STEP_UP)
      .set(bearer(access_token))
      .send({ recovery_code: recoveryCodes[1] })
      .expect(200);
    assert.deepEqual(claimsOf((response.body as Pair).access_token).amr, [
      'pwd',
      'recovery_code',
      'mfa',
    ]);
    assert.equal((await events(t, 'mfa.recovery_code_used', user.user.id)).length, 1);
    await t
      .http()
      .post(STEP_UP)
      .set(bearer(access_token))
      .send({ recovery_code: recoveryCodes[1] })
      .expect(401);
  });

  it('counts wrong codes toward the lockout; locked, even the right code is refused', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, user.user);
    const { access_token } = await passwordSession(t, user);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const wrong = await t
        .http()
        .post(STEP_UP)
        .set(bearer(access_token))
        .send({ code: '000000' })
        .expect(401);
      assert.equal((wrong.body as { type: string }).type, 'urn:problem:identity:invalid-mfa-code');
    }
    assert.equal((await events(t, 'user.locked', user.user.id)).length, 1);
    await t
      .http()
      .post(STEP_UP)
      .set(bearer(access_token))
      .send({ code: await totpCode(t, secret) })
      .expect(401);
    await t.http().get(GUARDED).set(bearer(access_token)).expect(401);
    // The step-up route is no way around authentication.
    await t
      .http()
      .post(STEP_UP)
      .send({ code: await totpCode(t, secret) })
      .expect(401);
  });
});

describe('MFA_REQUIRED_FOR_ROLES=ROLE_ADMIN and MFA_ADMIN_STEP_UP=true', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: { MFA_REQUIRED_FOR_ROLES: 'ROLE_ADMIN', MFA_ADMIN_STEP_UP: 'true' },
    });
  });
  after(() => t.close());

  const adminRoles = [RoleName.User, RoleName.Admin];

  it('gives an admin without a factor an enrolment-only pair: 403 elsewhere, allowed where marked', async () => {
    const admin = await createUser(t, { roles: adminRoles });
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: admin.username, password: admin.password })
      .expect(200);
    const pair = login.body as Pair;
    assert.equal(pair.mfa_enrolment_required, true);
    assert.equal(claimsOf(pair.access_token).mfa_enrolment, true);

    const refused = await t.http().get('/api/v1/users').set(bearer(pair.access_token)).expect(403);
    assert.equal(
      (refused.body as { type: string }).type,
      'urn:problem:identity:mfa-enrolment-required',
    );
    await t.http().get('/api/v1/content/user').set(bearer(pair.access_token)).expect(403);
    await t.http().get('/api/v1/users/me').set(bearer(pair.access_token)).expect(200);
    await t.http().get('/api/v1/auth/sessions').set(bearer(pair.access_token)).expect(200);

    // Refresh keeps it enrolment-only.
    const refreshed = await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: pair.refresh_token })
      .expect(200);
    const next = refreshed.body as Pair;
    assert.equal(next.mfa_enrolment_required, true);

    // Enrolled, the session steps up and gets a normal pair.
    const { secret } = await enrolTotp(t, admin.user);
    const steppedUp = await t
      .http()
      .post('/api/v1/auth/mfa/step-up')
      .set(bearer(next.access_token))
      .send({ code: await totpCode(t, secret) })
      .expect(200);
    const normal = steppedUp.body as Pair;
    assert.equal('mfa_enrolment_required' in normal, false);
    assert.equal('mfa_enrolment' in claimsOf(normal.access_token), false);
    await t.http().get('/api/v1/users').set(bearer(normal.access_token)).expect(200);
    await t.http().post('/api/v1/auth/logout').set(bearer(next.access_token)).expect(204);
  });

  it('leaves users without the role alone', async () => {
    const user = await createUser(t);
    const pair = await loginPair(t, user.username);
    assert.equal('mfa_enrolment_required' in pair, false);
    await t.http().get('/api/v1/content/user').set(bearer(pair.access_token)).expect(200);
  });

  it('demands a recent second factor on ADMIN-only routes, not on others; a role short stays 403', async () => {
    const admin = await createUser(t, { roles: adminRoles });
    const { secret } = await enrolTotp(t, admin.user);
    const verified = await t
      .http()
      .post('/api/v1/auth/mfa/verify')
      .send({ mfa_token: await mfaToken(t, admin), code: await totpCode(t, secret) })
      .expect(200);
    const { access_token } = verified.body as Pair;
    await t.http().get('/api/v1/content/admin').set(bearer(access_token)).expect(200);
    t.clock.advance(301);
    const stale = await t.http().get('/api/v1/content/admin').set(bearer(access_token)).expect(401);
    assert.match(stale.headers['www-authenticate'] ?? '', /insufficient_user_authentication/);
    await t.http().get('/api/v1/content/moderator').set(bearer(access_token)).expect(200);
    const moderator = await createUser(t, { roles: [RoleName.User, RoleName.Moderator] });
    const moderatorPair = await loginPair(t, moderator.username);
    await t.http().get('/api/v1/content/admin').set(bearer(moderatorPair.access_token)).expect(403);
  });
});
