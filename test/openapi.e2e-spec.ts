import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RoleName } from '../src/access/role-name';
import { buildOpenApiDocumentOffline } from '../src/openapi-document';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface Example {
  summary?: string;
  value: Record<string, unknown>;
}
interface DocumentedResponse {
  description: string;
  headers?: Record<string, { schema?: unknown; example?: unknown }>;
  content?: Record<string, { schema?: { $ref?: string }; examples?: Record<string, Example> }>;
}
interface Parameter {
  name: string;
  in: string;
  schema?: { type?: string; minimum?: number; maximum?: number };
}
interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  responses: Record<string, DocumentedResponse>;
  requestBody?: unknown;
}
type OpenApi = {
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, Record<string, unknown>>;
    schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }>;
  };
};

/**
 * That `body`, answered with `status` and `mediaType`, is one of the examples the operation
 * documents for that status: the same type, title, status and detail (a problem), or the same
 * OAuth2 `error` (RFC 6749). So no documented example is something the service does not say.
 */
function assertDocumentedExample(
  operation: Operation,
  status: number,
  mediaType: string,
  body: Record<string, unknown>,
  label: string,
): void {
  const examples = Object.values(
    operation.responses[String(status)]?.content?.[mediaType]?.examples ?? {},
  );
  const keys = mediaType === PROBLEM ? ['type', 'title', 'status', 'detail'] : ['error'];
  const pick = (value: Record<string, unknown>) => keys.map((key) => value[key]);
  assert.ok(
    examples.some((example) => JSON.stringify(pick(example.value)) === JSON.stringify(pick(body))),
    `${label}: ${JSON.stringify(pick(body))} is none of the documented ${status} examples ` +
      JSON.stringify(examples.map((example) => pick(example.value))),
  );
}

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
  'post /api/v1/auth/mfa/verify',
  'post /api/v1/auth/mfa/step-up',
  'post /api/v1/users/me/email',
  'post /api/v1/auth/email/change/confirm',
  'post /api/v1/auth/email/verify',
  'post /api/v1/auth/email/verify/resend',
  'post /api/v1/auth/password/forgot',
  'post /api/v1/auth/password/reset',
  'get /.well-known/jwks.json',
  'get /api/v1/users/me',
  'patch /api/v1/users/me',
  'get /api/v1/users',
  'get /api/v1/users/{id}',
  'patch /api/v1/users/{id}',
  'delete /api/v1/users/{id}',
  'post /api/v1/users/{id}/unlock',
  'post /api/v1/users/{id}/password-reset',
  'put /api/v1/users/{id}/roles/{role}',
  'delete /api/v1/users/{id}/roles/{role}',
  'get /api/v1/users/me/mfa',
  'post /api/v1/users/me/mfa/totp',
  'post /api/v1/users/me/mfa/totp/confirm',
  'delete /api/v1/users/me/mfa/totp',
  'post /api/v1/users/me/mfa/recovery-codes',
  'get /api/v1/users/{id}/mfa',
  'delete /api/v1/users/{id}/mfa',
  'get /api/v1/audit-events',
  'get /api/v1/content/public',
  'get /api/v1/content/user',
  'get /api/v1/content/moderator',
  'get /api/v1/content/admin',
  'get /api/v1/content/step-up',
  'get /api/v1/health/live',
  'get /api/v1/health/ready',
  'post /api/v1/users/me/passkeys/registration-options',
  'post /api/v1/users/me/passkeys',
  'get /api/v1/users/me/passkeys',
  'patch /api/v1/users/me/passkeys/{id}',
  'delete /api/v1/users/me/passkeys/{id}',
  'post /api/v1/auth/passkey/options',
  'post /api/v1/auth/passkey/login',
  'post /api/v1/auth/mfa/passkey-options',
  'post /api/v1/auth/mfa/step-up/passkey-options',
  'post /api/v1/oidc-clients',
  'get /api/v1/oidc-clients',
  'get /api/v1/oidc-clients/{id}',
  'patch /api/v1/oidc-clients/{id}',
  'post /api/v1/oidc-clients/{id}/secret',
  'delete /api/v1/oidc-clients/{id}',
];

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * That the answer's status and media type are documented for the operation and, for an error,
 * that its body is one of the examples documented for that status.
 */
function assertDocumentedAnswer(operation: Operation, response: Answer, label: string): void {
  const documented = operation.responses[String(response.status)];
  assert.ok(documented, `${label}: ${response.status} is not documented`);
  const mediaType = (response.headers['content-type'] ?? '').split(';')[0] ?? '';
  assert.ok(documented.content?.[mediaType], `${label}: ${mediaType} is not documented`);
  if (response.status >= 400) {
    const body = JSON.parse(response.text) as Record<string, unknown>;
    assertDocumentedExample(operation, response.status, mediaType, body, label);
  }
}

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

  it('declares a bearer scheme and an OAuth2 password flow (and its refresh) on the token endpoint', () => {
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    assert.deepEqual(doc.components.securitySchemes.oauth2, {
      type: 'oauth2',
      flows: {
        password: {
          tokenUrl: '/api/v1/auth/token',
          refreshUrl: '/api/v1/auth/token',
          scopes: {},
        },
      },
    });
  });

  it('names every operation with a stable camelCase operationId', () => {
    const ids = Object.fromEntries(
      operations().map(({ path, method, operation }) => [
        `${method} ${path}`,
        operation.operationId,
      ]),
    );
    assert.deepEqual(ids, {
      'post /api/v1/auth/register': 'register',
      'post /api/v1/auth/login': 'login',
      'post /api/v1/auth/token': 'requestOAuth2Token',
      'post /api/v1/auth/refresh': 'refreshTokens',
      'post /api/v1/auth/logout': 'logout',
      'post /api/v1/auth/logout-all': 'logoutAllSessions',
      'get /api/v1/auth/sessions': 'listSessions',
      'delete /api/v1/auth/sessions/{id}': 'revokeSession',
      'post /api/v1/users/me/password': 'changePassword',
      'post /api/v1/auth/mfa/verify': 'verifyMfa',
      'post /api/v1/auth/mfa/step-up': 'stepUpMfa',
      'post /api/v1/users/me/email': 'requestEmailChange',
      'post /api/v1/auth/email/change/confirm': 'confirmEmailChange',
      'post /api/v1/auth/email/verify': 'verifyEmail',
      'post /api/v1/auth/email/verify/resend': 'resendEmailVerification',
      'post /api/v1/auth/password/forgot': 'forgotPassword',
      'post /api/v1/auth/password/reset': 'resetPassword',
      'get /.well-known/jwks.json': 'getJwks',
      'get /api/v1/users/me': 'getCurrentUser',
      'patch /api/v1/users/me': 'updateCurrentUser',
      'get /api/v1/users': 'listUsers',
      'get /api/v1/users/{id}': 'getUser',
      'patch /api/v1/users/{id}': 'updateUser',
      'delete /api/v1/users/{id}': 'deleteUser',
      'post /api/v1/users/{id}/unlock': 'unlockUser',
      'post /api/v1/users/{id}/password-reset': 'sendPasswordReset',
      'put /api/v1/users/{id}/roles/{role}': 'grantRole',
      'delete /api/v1/users/{id}/roles/{role}': 'revokeRole',
      'get /api/v1/users/me/mfa': 'getMySecondFactors',
      'post /api/v1/users/me/mfa/totp': 'startTotpEnrolment',
      'post /api/v1/users/me/mfa/totp/confirm': 'confirmTotpEnrolment',
      'delete /api/v1/users/me/mfa/totp': 'removeTotp',
      'post /api/v1/users/me/mfa/recovery-codes': 'regenerateRecoveryCodes',
      'get /api/v1/users/{id}/mfa': 'getUserSecondFactors',
      'delete /api/v1/users/{id}/mfa': 'resetUserSecondFactors',
      'get /api/v1/audit-events': 'listAuditEvents',
      'get /api/v1/content/public': 'getPublicContent',
      'get /api/v1/content/user': 'getUserContent',
      'get /api/v1/content/moderator': 'getModeratorContent',
      'get /api/v1/content/admin': 'getAdminContent',
      'get /api/v1/content/step-up': 'getStepUpContent',
      'get /api/v1/health/live': 'getLiveness',
      'get /api/v1/health/ready': 'getReadiness',
      'post /api/v1/users/me/passkeys/registration-options': 'passkeyRegistrationOptions',
      'post /api/v1/users/me/passkeys': 'registerPasskey',
      'get /api/v1/users/me/passkeys': 'listPasskeys',
      'patch /api/v1/users/me/passkeys/{id}': 'renamePasskey',
      'delete /api/v1/users/me/passkeys/{id}': 'deletePasskey',
      'post /api/v1/auth/passkey/options': 'passkeySignInOptions',
      'post /api/v1/auth/passkey/login': 'loginWithPasskey',
      'post /api/v1/auth/mfa/passkey-options': 'passkeySecondFactorOptions',
      'post /api/v1/auth/mfa/step-up/passkey-options': 'passkeyStepUpOptions',
      'post /api/v1/oidc-clients': 'createOidcClient',
      'get /api/v1/oidc-clients': 'listOidcClients',
      'get /api/v1/oidc-clients/{id}': 'getOidcClient',
      'patch /api/v1/oidc-clients/{id}': 'updateOidcClient',
      'post /api/v1/oidc-clients/{id}/secret': 'rotateOidcClientSecret',
      'delete /api/v1/oidc-clients/{id}': 'deleteOidcClient',
    });
    const values = Object.values(ids);
    assert.equal(new Set(values).size, values.length, 'operationIds are unique');
  });

  it('names a server relative to where the document is served', () => {
    assert.deepEqual(
      doc.servers?.map((server) => server.url),
      ['/'],
    );
  });

  it('types page and limit as bounded integers', () => {
    for (const path of ['/api/v1/users', '/api/v1/audit-events']) {
      const parameters = doc.paths[path]?.get?.parameters ?? [];
      const schema = (name: string) => parameters.find((p) => p.name === name)?.schema;
      assert.deepEqual(
        [schema('page')?.type, schema('page')?.minimum, schema('page')?.maximum],
        ['integer', 1, 1_000_000],
        path,
      );
      assert.deepEqual(
        [schema('limit')?.type, schema('limit')?.minimum, schema('limit')?.maximum],
        ['integer', 1, 100],
        path,
      );
    }
  });

  it('types the key set as JWK objects', async () => {
    const keys = doc.components.schemas.JwksDto?.properties?.keys;
    assert.deepEqual(keys?.items, { $ref: '#/components/schemas/JwkDto' });
    const jwk = doc.components.schemas.JwkDto as {
      properties: Record<string, { type: string }>;
      required: string[];
    };
    assert.deepEqual(Object.keys(jwk.properties).sort(), [
      'alg',
      'crv',
      'e',
      'kid',
      'kty',
      'n',
      'use',
      'x',
      'y',
    ]);
    for (const property of Object.values(jwk.properties)) assert.equal(property.type, 'string');
    assert.deepEqual([...jwk.required].sort(), ['alg', 'kid', 'kty', 'use']);
    // An asymmetric key set answers what the schema says.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signed = await createTestApp({
      env: {
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    try {
      const body = (await signed.http().get('/.well-known/jwks.json').expect(200)).body as {
        keys: Array<Record<string, unknown>>;
      };
      assert.equal(body.keys.length, 1);
      for (const key of body.keys) {
        for (const [name, value] of Object.entries(key)) {
          assert.ok(name in jwk.properties, `${name} is documented`);
          assert.equal(typeof value, 'string', name);
        }
        for (const name of jwk.required) assert.ok(name in key, `${name} is present`);
      }
    } finally {
      await signed.close();
    }
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
      assertDocumentedAnswer(operation, response, `${method} ${path}, no token`);
      if (documented) {
        assert.deepEqual(operation.security, [{ bearer: [] }, { oauth2: [] }], `${method} ${path}`);
        assert.ok(operation.responses['401'], `${method} ${path} documents 401`);
      } else {
        // Said explicitly: a generated client sends no credentials there.
        assert.deepEqual(operation.security, [], `${method} ${path} has security: []`);
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

  it('gives every error response examples of its own status, with the headers they carry', () => {
    for (const { path, method, operation } of operations()) {
      const instance = path.replace(/\{[^}]+\}/g, '0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11');
      for (const [code, response] of Object.entries(operation.responses)) {
        const status = Number(code);
        if (status < 400) continue;
        for (const [mediaType, media] of Object.entries(response.content ?? {})) {
          const label = `${method} ${path} ${status} ${mediaType}`;
          const examples = Object.values(media.examples ?? {});
          assert.ok(examples.length > 0, `${label} has examples`);
          for (const { value } of examples) {
            if (mediaType === PROBLEM) {
              assert.equal(value.status, status, label);
              if (status !== 431) assert.equal(value.instance, instance, label);
            } else {
              assert.equal(typeof value.error, 'string', label);
            }
          }
        }
        for (const [name, header] of Object.entries(response.headers ?? {})) {
          assert.notEqual(header.example, undefined, `${method} ${path} ${status} ${name} example`);
        }
      }
    }
    // The operation's own errors, not one example everywhere.
    const examplesOf = (path: string, method: string, status: number) =>
      Object.keys(
        doc.paths[path]?.[method]?.responses[String(status)]?.content?.[PROBLEM]?.examples ?? {},
      );
    assert.deepEqual(examplesOf('/api/v1/auth/register', 'post', 409), [
      'usernameTaken',
      'emailTaken',
      'conflict',
    ]);
    assert.deepEqual(examplesOf('/api/v1/users/{id}', 'delete', 409), ['lastAdmin']);
    assert.deepEqual(examplesOf('/api/v1/auth/sessions/{id}', 'delete', 404), ['sessionNotFound']);
    assert.deepEqual(examplesOf('/api/v1/users/me', 'get', 401), ['missingToken', 'invalidToken']);
    assert.deepEqual(examplesOf('/api/v1/auth/login', 'post', 401), ['invalidCredentials']);
  });

  it('answers malformed and refused requests to every operation only as it documents', async () => {
    // An admin's token, so that requests get as far as they can; rate limits are off.
    const { token } = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
    const { token: userToken } = await createUserWithToken(t);
    const someId = '0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11';
    const concrete = (path: string, id: string): string =>
      path.replace('{role}', RoleName.User).replace(/\{[^}]+\}/g, id);
    let probes = 0;
    for (const { path, method, operation } of operations()) {
      const request = (url: string) => t.http()[method as Method](url);
      const send = (url: string) => request(url).set('Authorization', `Bearer ${token}`);
      const url = concrete(path, someId);
      // A status of undefined: whatever the operation answers, as long as it is documented.
      const cases: [string, number | undefined, () => Promise<Answer>][] = [
        ['huge URL', 414, () => send(`${url}?pad=${'a'.repeat(9000)}`)],
      ];
      if (BODY_METHODS.has(method)) {
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
          // Handlers run here: only on routes where an unknown id changes nothing.
          ['unknown id', undefined, () => send(url).send({})],
        );
      }
      if ((operation.security ?? []).length > 0) {
        cases.push(
          ['no token', 401, () => request(url)],
          ['invalid token', 401, () => request(url).set('Authorization', 'Bearer not.a.token')],
        );
      }
      // A role short: only a bearer route has roles to lack (every bearer route documents a 403
      // for EMAIL_VERIFICATION=required besides).
      if ('x-required-roles' in operation && (operation.security ?? []).length > 0) {
        cases.push([
          'a role short',
          path.endsWith('/content/user') ? 200 : 403,
          () => request(url).set('Authorization', `Bearer ${userToken}`),
        ]);
      }
      for (const [probe, expected, run] of cases) {
        const response = await run();
        const label = `${method} ${path}, ${probe}`;
        if (expected !== undefined) assert.equal(response.status, expected, label);
        assertDocumentedAnswer(operation, response, label);
        probes += 1;
      }
    }
    assert.ok(probes > 100, `${probes} probes`);
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
          assertDocumentedAnswer(operation, response, label);
          const documented = operation.responses[String(response.status)];
          if (response.status === 429) {
            refused = true;
            assert.match(response.headers['retry-after'] ?? '', /^[1-9]\d*$/, label);
            assert.ok(documented?.headers?.['Retry-After'], `${label}: Retry-After`);
          }
        }
        if (refused) limitedOperations.push(label);
      }
      // Every rate-limited route was reached; the others never answer 429.
      assert.deepEqual(limitedOperations.sort(), [
        'delete /api/v1/users/me/mfa/totp',
        'delete /api/v1/users/{id}/mfa',
        'post /api/v1/auth/email/change/confirm',
        'post /api/v1/auth/email/verify',
        'post /api/v1/auth/email/verify/resend',
        'post /api/v1/auth/login',
        'post /api/v1/auth/mfa/passkey-options',
        'post /api/v1/auth/mfa/step-up',
        'post /api/v1/auth/mfa/step-up/passkey-options',
        'post /api/v1/auth/mfa/verify',
        'post /api/v1/auth/passkey/login',
        'post /api/v1/auth/passkey/options',
        'post /api/v1/auth/password/forgot',
        'post /api/v1/auth/password/reset',
        'post /api/v1/auth/refresh',
        'post /api/v1/auth/register',
        'post /api/v1/auth/token',
        'post /api/v1/users/me/email',
        'post /api/v1/users/me/mfa/recovery-codes',
        'post /api/v1/users/me/mfa/totp',
        'post /api/v1/users/me/mfa/totp/confirm',
        'post /api/v1/users/me/passkeys',
        'post /api/v1/users/me/passkeys/registration-options',
        'post /api/v1/users/me/password',
        'post /api/v1/users/{id}/password-reset',
      ]);
    } finally {
      await limited.close();
    }
  });

  it('builds the same document without a database or a server (what lint:openapi lints)', async () => {
    assert.deepEqual(JSON.parse(JSON.stringify(await buildOpenApiDocumentOffline())), doc);
  });

  it("lints clean with Redocly's recommended rules (redocly.yaml)", async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'openapi-lint-'));
    try {
      const file = path.join(directory, 'openapi.json');
      writeFileSync(file, JSON.stringify(await buildOpenApiDocumentOffline()));
      const lint = spawnSync(
        process.execPath,
        [
          'node_modules/@redocly/cli/bin/cli.js',
          'lint',
          file,
          '--config',
          'redocly.yaml',
          '--format=json',
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
          timeout: 60_000,
        },
      );
      const report = JSON.parse(lint.stdout) as {
        totals: { errors: number; warnings: number };
        problems: Array<{ ruleId: string; message: string }>;
      };
      assert.deepEqual(
        report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`),
        [],
      );
      assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 });
      assert.equal(lint.status, 0, lint.stderr);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('gives request examples for the auth endpoints', () => {
    const text = JSON.stringify(doc.components);
    assert.match(text, /alice@example\.com/);
    assert.match(text, /correct horse battery staple/);
  });
});
