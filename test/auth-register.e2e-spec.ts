import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { User } from '../src/users/entities/user.entity';
import { UserRole } from '../src/users/entities/user-role.entity';
import { TEST_PASSWORD, uniqueUsername } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

describe('POST /api/v1/auth/register', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  const register = (body: Record<string, unknown>) =>
    t.http().post('/api/v1/auth/register').send(body);

  async function userRow(username: string) {
    return t.dataSource
      .getRepository(User)
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.username = :username', { username })
      .getOne();
  }

  it('creates the user with ROLE_USER and never returns the hash', async () => {
    const username = uniqueUsername();
    const response = await register({
      email: `${username}@Example.com`,
      username,
      password: TEST_PASSWORD,
    });

    assert.equal(response.status, 201);
    assert.equal(response.body.username, username);
    assert.equal(response.body.email, `${username}@example.com`);
    assert.deepEqual(response.body.roles, ['ROLE_USER']);
    assert.equal(response.body.isActive, true);
    assert.match(response.body.id, /^[0-9a-f-]{36}$/);
    const text = JSON.stringify(response.body);
    assert.ok(!/hash|argon/i.test(text), text);

    const row = await userRow(username);
    assert.ok(row);
    assert.match(row.passwordHash, /^\$argon2id\$/);
    const grants = await t.dataSource
      .getRepository(UserRole)
      .find({ where: { userId: row.id }, relations: { role: true } });
    assert.deepEqual(
      grants.map((grant) => grant.role.name),
      ['ROLE_USER'],
    );
  });

  it('stores canonical (lower-case) names', async () => {
    const username = uniqueUsername('Mixed');
    const response = await register({
      email: `${username}@EXAMPLE.com`,
      username,
      password: TEST_PASSWORD,
    });
    assert.equal(response.status, 201);
    assert.equal(response.body.username, username.toLowerCase());
    assert.ok(await userRow(username.toLowerCase()));
  });

  it('canonicalises fullwidth and upper-case names, so their variants are taken', async () => {
    const ascii = uniqueUsername('wide').replace(/[^a-z0-9]/g, '');
    const fullwidth = [...ascii]
      .map((character) => String.fromCodePoint(character.codePointAt(0)! + 0xfee0))
      .join('');
    const response = await register({
      email: `${ascii}@example.com`,
      username: fullwidth,
      password: TEST_PASSWORD,
    });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.username, ascii);
    const upper = await register({
      email: `other-${ascii}@example.com`,
      username: ascii.toUpperCase(),
      password: TEST_PASSWORD,
    });
    assert.equal(upper.status, 409);
  });

  it('answers 409 for a username taken in another case', async () => {
    const username = uniqueUsername();
    await register({ email: `${username}@example.com`, username, password: TEST_PASSWORD }).expect(
      201,
    );
    const response = await register({
      email: `other-${username}@example.com`,
      username: username.toUpperCase(),
      password: TEST_PASSWORD,
    });
    assert.equal(response.status, 409);
    assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.equal(response.body.title, 'Username already taken');
    assert.equal(response.body.status, 409);
  });

  it('answers 409 for an email taken in another case', async () => {
    const username = uniqueUsername();
    await register({ email: `${username}@example.com`, username, password: TEST_PASSWORD }).expect(
      201,
    );
    const response = await register({
      email: `${username.toUpperCase()}@EXAMPLE.COM`,
      username: uniqueUsername(),
      password: TEST_PASSWORD,
    });
    assert.equal(response.status, 409);
    assert.equal(response.body.title, 'Email already registered');
  });

  it('lets exactly one of 50 concurrent registrations of one username win', async () => {
    const username = uniqueUsername('race');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        register({
          email: `race${index}-${username}@example.com`,
          username,
          password: TEST_PASSWORD,
        }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    assert.equal(statuses.filter((status) => status === 201).length, 1, statuses.join());
    assert.equal(statuses.filter((status) => status === 409).length, 49, statuses.join());
    assert.equal(await t.dataSource.getRepository(User).countBy({ username }), 1);
  });

  it('rejects mass assignment of roles, isActive and id, and changes nothing', async () => {
    const before = await t.dataSource.getRepository(User).count();
    for (const extra of [
      { roles: ['ROLE_ADMIN'] },
      { isActive: false },
      { id: '00000000-0000-4000-8000-000000000000' },
    ]) {
      const username = uniqueUsername();
      const response = await register({
        email: `${username}@example.com`,
        username,
        password: TEST_PASSWORD,
        ...extra,
      });
      assert.equal(response.status, 400, JSON.stringify(extra));
      assert.equal(response.body.type, 'urn:problem:identity:validation-failed');
      assert.ok(Array.isArray(response.body.errors));
      assert.equal(await userRow(username), null);
    }
    assert.equal(await t.dataSource.getRepository(User).count(), before);
  });

  it('validates every field and lists each problem', async () => {
    const response = await register({ email: 'not-an-email', username: 'x', password: 'short' });
    assert.equal(response.status, 400);
    const fields = (response.body.errors as Array<{ field: string }>)
      .map((error) => error.field)
      .sort();
    assert.deepEqual(fields, ['email', 'password', 'username']);
  });

  it('refuses usernames with invisible or foreign characters', async () => {
    for (const username of ['ali\u200bce', 'al ice', 'al/ice', 'ab', 'a'.repeat(33)]) {
      const response = await register({
        email: `${uniqueUsername()}@example.com`,
        username,
        password: TEST_PASSWORD,
      });
      assert.equal(response.status, 400, username);
    }
  });

  it('refuses common passwords and the username as password', async () => {
    const username = uniqueUsername();
    for (const password of ['password1', 'iloveyou', username.toUpperCase()]) {
      const response = await register({ email: `${username}@example.com`, username, password });
      assert.equal(response.status, 400, password);
      assert.ok(
        (response.body.errors as Array<{ field: string }>).some(
          (error) => error.field === 'password',
        ),
        JSON.stringify(response.body),
      );
    }
    assert.equal(await userRow(username), null);
  });

  it('refuses a 129-character password', async () => {
    const username = uniqueUsername();
    const response = await register({
      email: `${username}@example.com`,
      username,
      password: 'p'.repeat(128) + 'q',
    });
    assert.equal(response.status, 400);
  });
});
