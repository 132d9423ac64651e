import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

// The access token is read from `Authorization: Bearer <token>` only, in RFC 6750's form.
describe('the bearer header', () => {
  let t: TestApp;
  let token: string;
  before(async () => {
    t = await createTestApp();
    ({ token } = await createUserWithToken(t));
  });
  after(async () => {
    await t.close();
  });

  const me = (authorization: string) =>
    t.http().get('/api/v1/users/me').set('Authorization', authorization);

  it('accepts the scheme in any case, with one or more spaces before the token', async () => {
    await me(`Bearer ${token}`).expect(200);
    await me(`bearer ${token}`).expect(200);
    await me(`Bearer   ${token}`).expect(200);
  });

  it('refuses a header with more than the token, as if no token had been sent', async () => {
    for (const header of [
      `Bearer ${token} extra`,
      `Bearer ${token} Bearer ${token}`,
      `Bearer\t${token}`,
      `Token Bearer ${token}`,
    ]) {
      const response = await me(header);
      assert.equal(response.status, 401, header.slice(0, 30));
      assert.equal(
        (response.body as { type?: string }).type,
        'urn:problem:identity:missing-token',
        header.slice(0, 30),
      );
    }
  });
});
