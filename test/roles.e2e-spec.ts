import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

type Caller = 'anonymous' | 'user' | 'moderator' | 'admin';
type Route = 'public' | 'user' | 'moderator' | 'admin';

// The expected status for each caller on each /content route: roles imply downward.
const MATRIX: Record<Caller, Record<Route, number>> = {
  anonymous: { public: 200, user: 401, moderator: 401, admin: 401 },
  user: { public: 200, user: 200, moderator: 403, admin: 403 },
  moderator: { public: 200, user: 200, moderator: 200, admin: 403 },
  admin: { public: 200, user: 200, moderator: 200, admin: 200 },
};

describe('RolesGuard on /api/v1/content/*', () => {
  let t: TestApp;
  const tokens: Partial<Record<Caller, string>> = {};

  before(async () => {
    t = await createTestApp();
    tokens.user = (await createUserWithToken(t, { roles: [RoleName.User] })).token;
    // Granted only the higher role: the hierarchy, not extra grants, opens the lower routes.
    tokens.moderator = (await createUserWithToken(t, { roles: [RoleName.Moderator] })).token;
    tokens.admin = (await createUserWithToken(t, { roles: [RoleName.Admin] })).token;
  });
  after(async () => {
    await t.close();
  });

  for (const caller of Object.keys(MATRIX) as Caller[]) {
    for (const route of Object.keys(MATRIX[caller]) as Route[]) {
      const expected = MATRIX[caller][route];
      it(`${caller} on /content/${route} gets ${expected}`, async () => {
        const request = t.http().get(`/api/v1/content/${route}`);
        const token = tokens[caller];
        const response = await (token === undefined
          ? request
          : request.set('Authorization', `Bearer ${token}`));
        assert.equal(response.status, expected, JSON.stringify(response.body));
        if (expected === 403) {
          assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
          assert.equal(response.body.status, 403);
        }
      });
    }
  }
});
