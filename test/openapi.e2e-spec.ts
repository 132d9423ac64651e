import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, TestApp } from './helpers/test-app';

interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, unknown>;
  requestBody?: unknown;
}
type OpenApi = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
};

// Every route the service serves; the document must list each one.
const EXPECTED_OPERATIONS = [
  'post /api/v1/auth/register',
  'post /api/v1/auth/login',
  'post /api/v1/auth/token',
  'post /api/v1/auth/refresh',
  'post /api/v1/auth/logout',
  'post /api/v1/auth/logout-all',
  'get /api/v1/auth/sessions',
  'delete /api/v1/auth/sessions/{id}',
  'post /api/v1/users/me/password',
  'get /.well-known/jwks.json',
  'get /api/v1/users/me',
  'patch /api/v1/users/me',
  'get /api/v1/users',
  'get /api/v1/users/{id}',
  'patch /api/v1/users/{id}',
  'delete /api/v1/users/{id}',
  'post /api/v1/users/{id}/unlock',
  'put /api/v1/users/{id}/roles/{role}',
  'delete /api/v1/users/{id}/roles/{role}',
  'get /api/v1/audit-events',
  'get /api/v1/content/public',
  'get /api/v1/content/user',
  'get /api/v1/content/moderator',
  'get /api/v1/content/admin',
  'get /api/v1/health/live',
  'get /api/v1/health/ready',
];

describe('Swagger UI and the OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApi;
  before(async () => {
    t = await createTestApp();
    doc = (await t.http().get('/docs-json').expect(200)).body as OpenApi;
  });
  after(async () => {
    await t.close();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );

  it('serves Swagger UI at /docs', async () => {
    const response = await t.http().get('/docs').redirects(1);
    assert.equal(response.status, 200);
    assert.match(response.text, /swagger-ui/i);
  });

  it('lists every route', () => {
    const listed = operations()
      .map(({ path, method }) => `${method} ${path}`)
      .sort();
    assert.deepEqual(listed, [...EXPECTED_OPERATIONS].sort());
  });

  it('declares a bearer scheme and an OAuth2 password flow on the token endpoint', () => {
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    assert.deepEqual(doc.components.securitySchemes.oauth2, {
      type: 'oauth2',
      flows: { password: { tokenUrl: '/api/v1/auth/token', scopes: {} } },
    });
  });

  it('documents security exactly where the guard enforces it', async () => {
    for (const { path, method, operation } of operations()) {
      const documented = (operation.security ?? []).length > 0;
      const response = await t.http()[method as 'get' | 'post' | 'patch' | 'put' | 'delete'](path);
      // Without a token, a protected route answers 401; a public one answers anything else
      // (login and token answer 400 for the empty body, never 401).
      const enforced = response.status === 401;
      assert.equal(
        documented,
        enforced,
        `${method} ${path}: documented ${documented}, status ${response.status}`,
      );
      if (documented) {
        assert.deepEqual(operation.security, [{ bearer: [] }, { oauth2: [] }], `${method} ${path}`);
        assert.ok(operation.responses['401'], `${method} ${path} documents 401`);
      }
    }
  });

  it('documents 403 on role-gated routes and 400/409 on registration', () => {
    for (const route of ['user', 'moderator', 'admin']) {
      assert.ok(doc.paths[`/api/v1/content/${route}`]?.get?.responses['403'], route);
    }
    const register = doc.paths['/api/v1/auth/register']?.post;
    assert.ok(register?.responses['201'] && register.responses['400'] && register.responses['409']);
  });

  it('gives request examples for the auth endpoints', () => {
    const text = JSON.stringify(doc.components);
    assert.match(text, /alice@example\.com/);
    assert.match(text, /correct horse battery staple/);
  });
});
