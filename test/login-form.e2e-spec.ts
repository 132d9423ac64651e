import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { User } from '../src/users/entities/user.entity';
import { createUser, TEST_PASSWORD } from './helpers/factories';
import { stableHeaders } from './helpers/http';
import { createTestApp, TestApp } from './helpers/test-app';

const LOGIN = '/api/v1/auth/login';

/** What the FastAPI tutorials' clients post (`OAuth2PasswordRequestForm`), as they encode it. */
function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

describe('form-encoded login: POST /api/v1/auth/login', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { LOCKOUT_THRESHOLD: '3', LOCKOUT_BASE_SECONDS: '60' } });
  });
  after(async () => {
    await t.close();
  });

  const formLogin = (fields: Record<string, string>) =>
    t.http().post(LOGIN).type('form').send(form(fields));
  const jsonLogin = (body: Record<string, unknown>) => t.http().post(LOGIN).send(body);

  it('logs in with the fields a FastAPI tutorial client sends and answers the JSON pair', async () => {
    const user = await createUser(t);
    const response = await formLogin({
      grant_type: 'password',
      username: user.username,
      password: TEST_PASSWORD,
      scope: '',
    }).expect(200);
    const body = response.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'expires_in',
      'refresh_expires_in',
      'refresh_token',
      'token_type',
    ]);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(response.headers['cache-control'], 'no-store');
    const me = await t
      .http()
      .get('/api/v1/users/me')
      .auth(body.access_token as string, { type: 'bearer' })
      .expect(200);
    assert.equal((me.body as { username: string }).username, user.username);

    // Username and password alone, and an email as the name, work as in JSON.
    await formLogin({ username: user.email, password: TEST_PASSWORD }).expect(200);
  });

  it('answers a wrong password or an unknown name with the 401 a JSON login gets', async () => {
    const user = await createUser(t);
    const jsonWrong = await jsonLogin({ username: user.username, password: 'not-the-password' });
    const formWrong = await formLogin({ username: user.username, password: 'not-the-password' });
    const formUnknown = await formLogin({ username: 'nobody-here', password: 'not-the-password' });
    for (const response of [formWrong, formUnknown]) {
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, jsonWrong.body);
      assert.deepEqual(stableHeaders(response), stableHeaders(jsonWrong));
    }
    assert.equal((jsonWrong.body as { detail: string }).detail, 'Invalid username or password');
  });

  it('still takes JSON', async () => {
    const user = await createUser(t);
    const response = await jsonLogin({ username: user.username, password: TEST_PASSWORD });
    assert.equal(response.status, 200);
    assert.equal(typeof (response.body as { refresh_token?: unknown }).refresh_token, 'string');
  });

  it('validates the form as the JSON body is validated: 400 before any password check', async () => {
    const user = await createUser(t);
    const cases: Record<string, string>[] = [
      { username: user.username },
      { username: user.username, password: TEST_PASSWORD, admin: 'true' },
      { username: user.username, password: TEST_PASSWORD, grant_type: 'client_credentials' },
      { username: user.username, password: 'x'.repeat(129) },
    ];
    for (const fields of cases) {
      const response = await formLogin(fields);
      assert.equal(response.status, 400, JSON.stringify(fields));
      assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    }
    // A repeated field is a list, not a string.
    await t
      .http()
      .post(LOGIN)
      .type('form')
      .send(`username=${user.username}&username=other&password=${TEST_PASSWORD}`)
      .expect(400);
    // The OAuth2 extras belong to the form: a JSON login still refuses them.
    await jsonLogin({ username: user.username, password: TEST_PASSWORD, scope: '' }).expect(400);
  });

  it('counts form failures toward the lockout, and an inactive account stays out', async () => {
    const user = await createUser(t);
    for (let attempt = 0; attempt < 3; attempt++) {
      await formLogin({ username: user.username, password: 'not-the-password' }).expect(401);
    }
    // Locked now: the right password fails too, by form and by JSON.
    await formLogin({ username: user.username, password: TEST_PASSWORD }).expect(401);
    await jsonLogin({ username: user.username, password: TEST_PASSWORD }).expect(401);

    const inactive = await createUser(t);
    await t.dataSource.getRepository(User).update({ id: inactive.user.id }, { isActive: false });
    await formLogin({ username: inactive.username, password: TEST_PASSWORD }).expect(401);
  });

  it('leaves the other JSON routes at 415 for a form body', async () => {
    for (const path of ['/api/v1/auth/register', '/api/v1/auth/refresh']) {
      const response: Response = await t
        .http()
        .post(path)
        .type('form')
        .send(form({ username: 'formed', email: 'formed@example.com', password: TEST_PASSWORD }));
      assert.equal(response.status, 415, path);
    }
  });

  it('documents both media types for the login operation', async () => {
    const document = await t.http().get('/docs-json').expect(200);
    const operation = (
      document.body as {
        paths: Record<string, { post: { requestBody: { content: Record<string, unknown> } } }>;
      }
    ).paths[LOGIN]?.post;
    assert.deepEqual(Object.keys(operation?.requestBody.content ?? {}).sort(), [
      'application/json',
      'application/x-www-form-urlencoded',
    ]);
  });
});

describe('form-encoded login in cookie mode (REFRESH_TOKEN_COOKIE=true)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { REFRESH_TOKEN_COOKIE: 'true' } });
  });
  after(async () => {
    await t.close();
  });

  it('answers the refresh token in the body and sets no cookie (no login CSRF by a form)', async () => {
    const user = await createUser(t);
    const response = await t
      .http()
      .post(LOGIN)
      .type('form')
      .send(form({ username: user.username, password: TEST_PASSWORD }))
      .expect(200);
    assert.equal(response.headers['set-cookie'], undefined);
    assert.match((response.body as { refresh_token: string }).refresh_token, /^[\w-]{43,}$/);

    // JSON still gets the cookie.
    const json = await t
      .http()
      .post(LOGIN)
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
    assert.ok(json.headers['set-cookie'] !== undefined);
    assert.equal('refresh_token' in (json.body as object), false);
  });
});
