import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueUsername } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

// 132 code points as typed, 66 after NFKC: each "e" + combining acute accent becomes one "é".
const SHRINKING = 'e\u0301'.repeat(66);
// 8 code points as typed, 144 after NFKC (U+FDFA expands to 18 characters).
const GROWING = '\ufdfa'.repeat(8);

describe('one password normalisation on every path, the length rule on what is hashed', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  const register = (username: string, password: string) =>
    t
      .http()
      .post('/api/v1/auth/register')
      .send({ username, email: `${username}@example.com`, password });
  const login = (username: string, password: string) =>
    t.http().post('/api/v1/auth/login').send({ username, password });

  it('a password that shrinks under NFKC (132 typed, 66 hashed) registers and logs in', async () => {
    assert.equal([...SHRINKING].length, 132);
    assert.equal([...SHRINKING.normalize('NFKC')].length, 66);
    const username = uniqueUsername();
    await register(username, SHRINKING).expect(201);
    await login(username, SHRINKING).expect(200);
    // The composed form is the same password.
    await login(username, SHRINKING.normalize('NFC')).expect(200);
    await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send({ grant_type: 'password', username, password: SHRINKING })
      .expect(200);
  });

  it('the same on a password change: the new password, then the current one', async () => {
    const username = uniqueUsername();
    await register(username, 'plum-tree-harbor-47').expect(201);
    const token = (
      (await login(username, 'plum-tree-harbor-47').expect(200)).body as { access_token: string }
    ).access_token;
    const change = (accessToken: string, currentPassword: string, newPassword: string) =>
      t
        .http()
        .post('/api/v1/users/me/password')
        .set('Authorization', `Bearer ${accessToken}`)
        .send({ currentPassword, newPassword });
    const changed = await change(token, 'plum-tree-harbor-47', SHRINKING).expect(200);
    await login(username, SHRINKING).expect(200);
    await change(
      (changed.body as { access_token: string }).access_token,
      SHRINKING,
      'plum-tree-harbor-48',
    ).expect(200);
  });

  it('a password that grows past 128 under NFKC is refused at registration', async () => {
    const username = uniqueUsername();
    const response = await register(username, GROWING);
    assert.equal(response.status, 400);
    assert.match(JSON.stringify(response.body), /at most 128/);
  });
});
