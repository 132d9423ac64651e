import { randomBytes } from 'node:crypto';
import { RoleName } from '../../src/access/role-name';
import { UsersService, UserWithRoles } from '../../src/users/users.service';
import type { TestApp } from './test-app';

export const TEST_PASSWORD = 'plum-tree-harbor-47';

let counter = 0;

/** A username no other test uses. */
export function uniqueUsername(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}-${randomBytes(3).toString('hex')}`.slice(0, 32);
}

export interface CreatedUser extends UserWithRoles {
  username: string;
  email: string;
  password: string;
}

/** Creates a user directly through the service (not through the API under test). */
export async function createUser(
  t: TestApp,
  options: { roles?: RoleName[]; password?: string; username?: string } = {},
): Promise<CreatedUser> {
  const username = options.username ?? uniqueUsername();
  const email = `${username}@example.com`;
  const password = options.password ?? TEST_PASSWORD;
  const created = await t.app
    .get(UsersService)
    .createAccount({ username, email, password }, options.roles ?? [RoleName.User]);
  return { ...created, username, email, password };
}

/** What POST /auth/login answers (refresh token in the body: the default, no cookie mode). */
export interface LoginPair {
  access_token: string;
  refresh_token: string;
}

/** Logs in through the JSON endpoint and returns the token pair. */
export async function loginPair(
  t: TestApp,
  username: string,
  password = TEST_PASSWORD,
): Promise<LoginPair> {
  const response = await t
    .http()
    .post('/api/v1/auth/login')
    .send({ username, password })
    .expect(200);
  return response.body as LoginPair;
}

/** Logs in through the JSON endpoint and returns the access token. */
export async function loginToken(
  t: TestApp,
  username: string,
  password = TEST_PASSWORD,
): Promise<string> {
  return (await loginPair(t, username, password)).access_token;
}

export async function createUserWithToken(
  t: TestApp,
  options: { roles?: RoleName[] } = {},
): Promise<CreatedUser & { token: string }> {
  const user = await createUser(t, options);
  return { ...user, token: await loginToken(t, user.username, user.password) };
}
