import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { createUser, createUserWithToken, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

// PostgreSQL refuses NUL in text: before the global pipe refused it, a login name with one
// answered 500 (with an error log line and stack) on PostgreSQL, at will.
describe('text inputs with a NUL character', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('are a 400 naming the field at login, not a 500', async () => {
    const user = await createUser(t);
    const response = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: `${user.username}\u0000`, password: TEST_PASSWORD });
    assert.equal(response.status, 400, response.text);
    assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.deepEqual(response.body.errors, [
      { field: 'username', message: 'username must not contain a NUL character' },
    ]);
    // The account itself still signs in.
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
  });

  it('are invalid_request at the OAuth2 token endpoint', async () => {
    const response = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send(`grant_type=password&username=a%00b&password=${TEST_PASSWORD}`);
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.error, 'invalid_request');
  });

  it('are a 400 in a query filter, in forgot-password and in registration', async () => {
    const admin = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
    const list = await t
      .http()
      .get('/api/v1/users?q=ali%00ce')
      .set('Authorization', `Bearer ${admin.token}`);
    assert.equal(list.status, 400, list.text);
    assert.equal(list.body.errors[0].field, 'q');
    const forgot = await t
      .http()
      .post('/api/v1/auth/password/forgot')
      .send({ email: 'a\u0000@example.com' });
    assert.equal(forgot.status, 400, forgot.text);
    const register = await t
      .http()
      .post('/api/v1/auth/register')
      .send({ username: 'nul\u0000user', email: 'nul@example.com', password: TEST_PASSWORD });
    assert.equal(register.status, 400, register.text);
    assert.equal(register.body.errors[0].field, 'username');
  });
});
