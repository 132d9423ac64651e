import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface DocumentedResponse {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: { $ref?: string } }>;
}
interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, DocumentedResponse>;
  requestBody?: unknown;
}
type OpenApi = {
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, Record<string, unknown>>;
    schemas: Record<string, unknown>;
  };
};

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
const PROBLEM = 'application/problem+json';
const PROBLEM_REF = '#/components/schemas/ProblemDto';
// Fastify reads a body on these methods (and answers 400, 413, 415) before any route code.
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/** What every operation can answer besides what its controller says, from what it is. */
function requiredStatuses(method: string, path: string, operation: Operation): string[] {
  const statuses = new Set(['414', '431', '500', '503']);
  if (BODY_METHODS.has(method)) for (const status of ['400', '413', '415']) statuses.add(status);
  if (path.includes('{')) statuses.add('400');
  if ((operation.security ?? []).length > 0) statuses.add('401');
  return [...statuses];
}

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

  /** ProblemDto, or a schema with at least its members (readiness adds `checks`). */
  function isProblemSchema(ref: string): boolean {
    if (ref === PROBLEM_REF) return true;
    const schema = doc.components.schemas[ref.replace('#/components/schemas/', '')] as
      { properties?: Record<string, unknown> } | undefined;
    const members = Object.keys(schema?.properties ?? {});
    return ['type', 'title', 'status', 'detail', 'instance'].every((name) =>
      members.includes(name),
    );
  }

  it('documents every status the framework and the infrastructure answer, as problem+json', () => {
    assert.ok(doc.components.schemas.ProblemDto, 'ProblemDto schema');
    for (const { path, method, operation } of operations()) {
      const label = `${method} ${path}`;
      for (const status of requiredStatuses(method, path, operation)) {
        const response = operation.responses[status];
        assert.ok(response, `${label} documents ${status}`);
        const ref = response.content?.[PROBLEM]?.schema?.$ref;
        assert.ok(ref !== undefined && isProblemSchema(ref), `${label} ${status}: ${ref}`);
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        // The service answers problems as application/problem+json, never application/json.
        assert.notEqual(
          response.content?.['application/json']?.schema?.$ref,
          PROBLEM_REF,
          `${label} ${status} is documented as application/json`,
        );
        if (status === '429' || status === '503') {
          assert.ok(response.headers?.['Retry-After'], `${label} ${status} Retry-After`);
        }
        if (status === '401' && response.content?.[PROBLEM] !== undefined) {
          assert.ok(response.headers?.['WWW-Authenticate'], `${label} 401 WWW-Authenticate`);
        }
      }
    }
  });

  it('answers malformed requests to every operation only with statuses it documents', async () => {
    // An admin's token, so that requests get as far as they can; rate limits are off.
    const { token } = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
    const someId = '0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11';
    const concrete = (path: string, id: string): string =>
      path.replace('{role}', RoleName.User).replace(/\{[^}]+\}/g, id);
    let probes = 0;
    for (const { path, method, operation } of operations()) {
      const send = (url: string) =>
        t.http()[method as Method](url).set('Authorization', `Bearer ${token}`);
      const cases: [string, number, () => Promise<{ status: number; headers: object }>][] = [
        ['huge URL', 414, () => send(`${concrete(path, someId)}?pad=${'a'.repeat(9000)}`)],
      ];
      if (BODY_METHODS.has(method)) {
        const url = concrete(path, someId);
        const oversized = JSON.stringify({ pad: 'x'.repeat(t.config.http.bodyLimitBytes) });
        cases.push(
          [
            'oversized body',
            413,
            () => send(url).set('Content-Type', 'application/json').send(oversized),
          ],
          ['wrong media type', 415, () => send(url).set('Content-Type', 'text/plain').send('x')],
          ['invalid JSON', 400, () => send(url).set('Content-Type', 'application/json').send('{')],
        );
      }
      if (path.includes('{')) {
        cases.push(
          ['malformed id', 400, () => send(concrete(path, 'not-a-uuid'))],
          ['over-long id', 414, () => send(concrete(path, 'a'.repeat(101)))],
        );
      }
      for (const [probe, expected, run] of cases) {
        const response = (await run()) as { status: number; headers: Record<string, string> };
        const label = `${method} ${path}, ${probe}`;
        assert.equal(response.status, expected, label);
        const documented = operation.responses[String(response.status)];
        assert.ok(documented, `${label}: ${response.status} is not documented`);
        const mediaType = (response.headers['content-type'] ?? '').split(';')[0] ?? '';
        assert.ok(documented.content?.[mediaType], `${label}: ${mediaType} is not documented`);
        probes += 1;
      }
    }
    assert.ok(probes > 60, `${probes} probes`);
  });

  it('answers repeated requests, rate limits on, only with statuses each operation documents', async () => {
    const limited = await createTestApp({
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_IP_PER_MINUTE: '2' },
    });
    try {
      const limitedOperations: string[] = [];
      for (const { path, method, operation } of operations()) {
        const label = `${method} ${path}`;
        const url = path.replace('{role}', RoleName.User).replace(/\{[^}]+\}/g, randomUUID());
        let refused = false;
        for (let attempt = 0; attempt < 4; attempt += 1) {
          const request = limited.http()[method as Method](url);
          const response = await (path.endsWith('/auth/token')
            ? request.type('form').send({ grant_type: 'password', username: 'x', password: 'y' })
            : BODY_METHODS.has(method)
              ? request.send({ username: 'x', password: 'y' })
              : request);
          const documented = operation.responses[String(response.status)];
          assert.ok(documented, `${label}: ${response.status} is not documented`);
          if (response.status === 429) {
            refused = true;
            assert.match(response.headers['retry-after'] ?? '', /^[1-9]\d*$/, label);
            assert.ok(documented.headers?.['Retry-After'], `${label}: Retry-After`);
          }
        }
        if (refused) limitedOperations.push(label);
      }
      // Every rate-limited route was reached; the others never answer 429.
      assert.deepEqual(limitedOperations.sort(), [
        'post /api/v1/auth/login',
        'post /api/v1/auth/refresh',
        'post /api/v1/auth/register',
        'post /api/v1/auth/token',
      ]);
    } finally {
      await limited.close();
    }
  });

  it('gives request examples for the auth endpoints', () => {
    const text = JSON.stringify(doc.components);
    assert.match(text, /alice@example\.com/);
    assert.match(text, /correct horse battery staple/);
  });
});
