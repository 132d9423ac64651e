import * as argon2 from 'argon2';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthService } from '../src/auth/auth.service';
import { normalizePassword } from '../src/passwords/password-policy';
import { Session } from '../src/sessions/session.entity';
import { DomainError } from '../src/common/errors/domain-error';
import { NO_REQUEST_CONTEXT } from '../src/common/request-context';
import { User } from '../src/users/entities/user.entity';
import { createUser, TEST_PASSWORD } from './helpers/factories';
import { stableHeaders } from './helpers/http';
import { createTestApp, TestApp } from './helpers/test-app';

describe('login: POST /api/v1/auth/login and POST /api/v1/auth/token', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  const login = (body: Record<string, unknown>) => t.http().post('/api/v1/auth/login').send(body);
  const token = (form: Record<string, string>) =>
    t.http().post('/api/v1/auth/token').type('form').send(new URLSearchParams(form).toString());

  it('logs in with username and answers a bearer token pair', async () => {
    const user = await createUser(t);
    const response = await login({ username: user.username, password: TEST_PASSWORD });
    assert.equal(response.status, 200);
    assert.equal(response.body.token_type, 'Bearer');
    assert.equal(response.body.expires_in, 900);
    assert.equal(typeof response.body.access_token, 'string');
    assert.equal(response.headers['cache-control'], 'no-store');

    const me = await t
      .http()
      .get('/api/v1/users/me')
      .auth(response.body.access_token, { type: 'bearer' });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, user.username);
  });

  it('starts no session for an account deleted while its password was being checked', async () => {
    const user = await createUser(t);
    const auth = t.app.get(AuthService);
    const account = await auth.authenticate(user.username, TEST_PASSWORD, NO_REQUEST_CONTEXT);
    await t.dataSource.getRepository(User).delete({ id: user.user.id });
    await assert.rejects(auth.login(account, NO_REQUEST_CONTEXT), (error: unknown) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.code, 'invalid_credentials');
      return true;
    });
    assert.equal(await t.dataSource.getRepository(Session).countBy({ userId: user.user.id }), 0);
  });

  it('upgrades a hash made with older cost parameters at login, tokens kept', async () => {
    const user = await createUser(t);
    const users = t.dataSource.getRepository(User);
    // The suite runs with m=1024 KiB, t=1: this is what an older configuration would have made.
    const older = await argon2.hash(normalizePassword(TEST_PASSWORD), {
      type: argon2.argon2id,
      memoryCost: 2048,
      timeCost: 2,
      parallelism: 1,
    });
    await users.update({ id: user.user.id }, { passwordHash: older });
    const first = await login({ username: user.username, password: TEST_PASSWORD }).expect(200);
    const stored = await users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.id = :id', { id: user.user.id })
      .getOneOrFail();
    assert.notEqual(stored.passwordHash, older);
    assert.match(stored.passwordHash, /^\$argon2id\$/);
    const current = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
    assert.equal(argon2.needsRehash(stored.passwordHash, current), false);
    // Not a password change: the token issued with the upgrade still works, and so does the password.
    await t
      .http()
      .get('/api/v1/users/me')
      .auth((first.body as { access_token: string }).access_token, { type: 'bearer' })
      .expect(200);
    await login({ username: user.username, password: TEST_PASSWORD }).expect(200);
  });

  it('accepts the email or a different case of the username', async () => {
    const user = await createUser(t);
    await login({ username: user.email.toUpperCase(), password: TEST_PASSWORD }).expect(200);
    await login({ username: user.username.toUpperCase(), password: TEST_PASSWORD }).expect(200);
  });

  it('answers an unknown user, a wrong password and an inactive account identically', async () => {
    const user = await createUser(t);
    const inactive = await createUser(t);
    await t.dataSource.getRepository(User).update({ id: inactive.user.id }, { isActive: false });

    const wrongPassword = await login({ username: user.username, password: 'not-the-password' });
    const unknownUser = await login({ username: 'nobody-here', password: 'not-the-password' });
    const inactiveAccount = await login({ username: inactive.username, password: TEST_PASSWORD });

    for (const response of [wrongPassword, unknownUser, inactiveAccount]) {
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, wrongPassword.body);
      assert.deepEqual(stableHeaders(response), stableHeaders(wrongPassword));
    }
    assert.equal(wrongPassword.body.detail, 'Invalid username or password');
    assert.match(wrongPassword.headers['www-authenticate'] ?? '', /^Bearer/);
    assert.match(wrongPassword.headers['content-type'] ?? '', /^application\/problem\+json/);
  });

  it('rejects a malformed body with 400 before checking credentials', async () => {
    await login({ username: 'someone' }).expect(400);
    await login({ username: 'someone', password: 'x'.repeat(129) }).expect(400);
    await login({ username: 'someone', password: TEST_PASSWORD, admin: true }).expect(400);
  });

  it('does not log in with the first 72 characters of a 100-character password', async () => {
    const password = 'long-passphrase-'.repeat(6).slice(0, 100);
    const user = await createUser(t, { password });
    await login({ username: user.username, password: password.slice(0, 72) }).expect(401);
    await login({ username: user.username, password }).expect(200);
  });

  it('logs in with the NFC or NFD form of a password', async () => {
    const nfc = 'caf\u00e9-au-lait-terrace';
    const nfd = nfc.normalize('NFD');
    assert.notEqual(nfc, nfd);
    const user = await createUser(t, { password: nfc });
    await login({ username: user.username, password: nfd }).expect(200);
  });

  describe('token endpoint (OAuth2 password grant)', () => {
    it('issues a token pair for form-encoded credentials', async () => {
      const user = await createUser(t);
      const response = await token({
        grant_type: 'password',
        username: user.username,
        password: TEST_PASSWORD,
      });
      assert.equal(response.status, 200);
      assert.equal(response.body.token_type, 'Bearer');
      assert.equal(typeof response.body.access_token, 'string');
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.headers['pragma'], 'no-cache');
    });

    it('answers invalid_grant identically for a wrong password and an unknown user', async () => {
      const user = await createUser(t);
      const wrong = await token({
        grant_type: 'password',
        username: user.username,
        password: 'wrong-password',
      });
      const unknown = await token({
        grant_type: 'password',
        username: 'nobody-at-all',
        password: 'wrong-password',
      });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, {
        error: 'invalid_grant',
        error_description: 'Invalid username or password',
      });
      assert.equal(unknown.status, wrong.status);
      assert.deepEqual(unknown.body, wrong.body);
      assert.deepEqual(stableHeaders(unknown), stableHeaders(wrong));
    });

    it('answers unsupported_grant_type for an unknown grant', async () => {
      const response = await token({ grant_type: 'client_credentials' });
      assert.equal(response.status, 400);
      assert.equal(response.body.error, 'unsupported_grant_type');
    });

    it('answers invalid_request for a missing grant_type or credentials', async () => {
      const missingGrant = await token({ username: 'a', password: 'b' });
      assert.equal(missingGrant.status, 400);
      assert.equal(missingGrant.body.error, 'invalid_request');
      const missingPassword = await token({ grant_type: 'password', username: 'a' });
      assert.equal(missingPassword.body.error, 'invalid_request');
    });

    it('answers invalid_request for unknown parameters and for a JSON body', async () => {
      const unknownParameter = await token({
        grant_type: 'password',
        username: 'a',
        password: 'b',
        evil: '1',
      });
      assert.equal(unknownParameter.status, 400);
      assert.equal(unknownParameter.body.error, 'invalid_request');
      const json = await t
        .http()
        .post('/api/v1/auth/token')
        .send({ grant_type: 'password', username: 'a', password: 'b' });
      assert.equal(json.status, 400);
      assert.equal(json.body.error, 'invalid_request');
    });

    it('accepts and ignores scope and client_id (Swagger UI sends them)', async () => {
      const user = await createUser(t);
      await token({
        grant_type: 'password',
        username: user.username,
        password: TEST_PASSWORD,
        scope: '',
        client_id: 'swagger-ui',
      }).expect(200);
    });
  });
});
