import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { request as httpRequest } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Test } from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { RoleName } from '../src/access/role-name';
import { createUser, createUserWithToken, loginToken } from './helpers/factories';
import { launchChromium, WITHOUT_CHROMIUM } from './helpers/chromium';
import { createTestApp, TestApp } from './helpers/test-app';

const PASSWORD = 'plum-tree-harbor-47';

function assertProblem(response: Response, status: number): void {
  assert.equal(response.status, status, response.text);
  assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(response.text) as { status?: unknown; title?: unknown };
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
}

/** `{"a":{"a":...{}...}}` with `depth` objects. */
function nestedObject(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

interface WithHeaders {
  headers: Record<string, string>;
}

function cspDirectives(response: WithHeaders): Map<string, string[]> {
  const header = response.headers['content-security-policy'];
  assert.ok(header !== undefined, 'Content-Security-Policy is missing');
  return new Map(
    header
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((parts) => parts[0] !== '')
      .map(([name, ...values]) => [name, values]),
  );
}

function assertSecurityHeaders(response: WithHeaders): void {
  const headers = response.headers;
  assert.equal(headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(headers['x-powered-by'], undefined);
  assert.deepEqual(cspDirectives(response).get('frame-ancestors'), ["'none'"]);
}

describe('HTTP hardening', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  describe('security headers', () => {
    it('puts helmet headers and a CSP that allows nothing on API responses, errors included', async () => {
      const responses = [
        await t.http().get('/api/v1/health/live').expect(200),
        await t.http().get('/api/v1/nothing-here').expect(404),
        await t.http().get('/api/v1/users/me').expect(401),
        await t
          .http()
          .post('/api/v1/auth/register')
          .set('Content-Type', 'application/json')
          .send('{')
          .expect(400),
        await t.http().get('/.well-known/jwks.json').expect(200),
      ];
      for (const response of responses) {
        assertSecurityHeaders(response);
        assert.deepEqual(
          [...cspDirectives(response)],
          [
            ['default-src', ["'none'"]],
            ['frame-ancestors', ["'none'"]],
          ],
        );
      }
    });

    it('puts the same headers on Swagger UI, with a CSP that lets only its own files run', async () => {
      const page = await t.http().get('/docs').expect(200);
      assert.match(page.headers['content-type'] ?? '', /^text\/html/);
      assertSecurityHeaders(page);
      const csp = cspDirectives(page);
      assert.deepEqual(csp.get('default-src'), ["'none'"]);
      assert.deepEqual(csp.get('script-src'), ["'self'"]);
      assert.deepEqual(csp.get('connect-src'), ["'self'"]);
      assert.ok(csp.get('style-src')?.includes("'self'"));

      // What the policy relies on: every script of the page is a file from this origin.
      const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
      assert.ok(scripts.length >= 3);
      for (const [, attributes, content] of scripts) {
        const src = /\bsrc=["']([^"']+)["']/.exec(attributes)?.[1];
        assert.ok(src !== undefined && !/^[a-z]+:|^\/\//i.test(src), `external script ${src}`);
        assert.equal(content.trim(), '', 'inline script');
      }
      assert.doesNotMatch(page.text, /\son[a-z]+\s*=/i, 'inline event handler');

      const init = await t.http().get('/docs/swagger-ui-init.js').expect(200);
      assertSecurityHeaders(init);
      // The spec is embedded in the init script: the validator badge would load from elsewhere.
      assert.match(init.text, /"validatorUrl":\s*null/);
      const bundle = await t.http().get('/docs/swagger-ui-bundle.js').expect(200);
      assertSecurityHeaders(bundle);
      const json = await t.http().get('/docs-json').expect(200);
      assertSecurityHeaders(json);
    });
  });

  describe('body limit', () => {
    it('answers a body over the limit (default 100 kB) with 413', async () => {
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .set('Content-Type', 'application/json')
        .send(
          JSON.stringify({
            username: 'big',
            email: 'big@example.com',
            padding: 'x'.repeat(102_400),
          }),
        );
      assertProblem(response, 413);
    });

    it('answers a 1 MB password at registration with 413', async () => {
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .send({
          username: 'megabyte',
          email: 'megabyte@example.com',
          password: 'p'.repeat(1_048_576),
        });
      assertProblem(response, 413);
    });

    it('applies BODY_LIMIT_BYTES', async () => {
      const small = await createTestApp({ env: { BODY_LIMIT_BYTES: '2048' } });
      try {
        const tooLarge = await small
          .http()
          .post('/api/v1/auth/register')
          .send({ username: 'small', email: 'small@example.com', password: 'p'.repeat(3072) });
        assertProblem(tooLarge, 413);
        const fits = await small
          .http()
          .post('/api/v1/auth/register')
          .send({ username: 'small', email: 'small@example.com', password: PASSWORD });
        assert.equal(fits.status, 201, fits.text);
        // Form bodies have the same limit.
        const form = await small
          .http()
          .post('/api/v1/auth/token')
          .type('form')
          .send({ grant_type: 'password', username: 'small', password: 'p'.repeat(3072) });
        assertProblem(form, 413);
      } finally {
        await small.close();
      }
    });
  });

  describe('media types', () => {
    for (const contentType of [
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
    ]) {
      it(`answers ${contentType} on a JSON route with 415`, async () => {
        const response = await t
          .http()
          .post('/api/v1/auth/register')
          .set('Content-Type', contentType)
          .send(
            JSON.stringify({ username: 'typed', email: 'typed@example.com', password: PASSWORD }),
          );
        assertProblem(response, 415);
      });
    }

    it('answers a form-encoded body on a JSON route with 415', async () => {
      // Login takes forms too (the FastAPI tutorials' clients): test/login-form.e2e-spec.ts.
      for (const path of ['/api/v1/auth/register', '/api/v1/auth/refresh']) {
        const response = await t
          .http()
          .post(path)
          .type('form')
          .send({ username: 'formed', email: 'formed@example.com', password: PASSWORD });
        assertProblem(response, 415);
      }
    });

    it('still takes form-encoded bodies on the OAuth2 token endpoint', async () => {
      const user = await createUser(t);
      const response = await t
        .http()
        .post('/api/v1/auth/token')
        .type('form')
        .send({ grant_type: 'password', username: user.username, password: user.password })
        .expect(200);
      assert.equal(typeof (response.body as { access_token?: unknown }).access_token, 'string');
    });

    it('recognises a form-encoded body however its type is written', async () => {
      for (const contentType of [
        'Application/X-WWW-Form-Urlencoded',
        'application/x-www-form-urlencoded; charset=utf-8',
        ' application/x-www-form-urlencoded ;charset=latin1',
      ]) {
        const response = await t
          .http()
          .post('/api/v1/auth/register')
          .set('Content-Type', contentType)
          .send(`username=formed&email=formed%40example.com&password=${PASSWORD}`);
        assertProblem(response, 415);
      }
    });

    it('accepts application/json with a charset', async () => {
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(
          JSON.stringify({ username: 'charset', email: 'charset@example.com', password: PASSWORD }),
        );
      assert.equal(response.status, 201, response.text);
    });
  });

  describe('JSON structure', () => {
    it('refuses deeply nested JSON with 400 before validation', async () => {
      for (const body of [
        nestedObject(1000),
        '['.repeat(1000) + ']'.repeat(1000),
        nestedObject(33),
      ]) {
        const response = await t
          .http()
          .post('/api/v1/auth/register')
          .set('Content-Type', 'application/json')
          .send(body);
        assertProblem(response, 400);
        assert.equal(
          (response.body as { detail?: string }).detail,
          'The JSON body is nested too deeply',
        );
      }
    });

    it('lets 32 levels through to validation, and does not count brackets inside strings', async () => {
      const deep = await t
        .http()
        .post('/api/v1/auth/register')
        .set('Content-Type', 'application/json')
        .send(nestedObject(32));
      assertProblem(deep, 400);
      assert.equal((deep.body as { type?: string }).type, 'urn:problem:identity:validation-failed');

      const brackets = await t
        .http()
        .post('/api/v1/auth/register')
        .send({
          username: 'brackets',
          email: 'brackets@example.com',
          password: `${'{['.repeat(40)}"\\`,
        });
      assert.equal(brackets.status, 201, brackets.text);
    });

    it('refuses __proto__ and constructor.prototype keys at any depth', async () => {
      const bodies = [
        '{"__proto__": {"isAdmin": true}, "username": "proto", "email": "proto@example.com", "password": "plum-tree-harbor-47"}',
        '{"username": "proto", "email": "proto@example.com", "password": "plum-tree-harbor-47", "x": {"y": {"__proto__": {"isAdmin": true}}}}',
        '{"username": "proto", "email": "proto@example.com", "password": "plum-tree-harbor-47", "x": [{"\\u005f_proto__": {"isAdmin": true}}]}',
        '{"username": "proto", "email": "proto@example.com", "password": "plum-tree-harbor-47", "constructor": {"prototype": {"isAdmin": true}}}',
      ];
      for (const body of bodies) {
        const response = await t
          .http()
          .post('/api/v1/auth/register')
          .set('Content-Type', 'application/json')
          .send(body);
        assertProblem(response, 400);
        assert.equal(
          (response.body as { detail?: string }).detail,
          'The request body is not valid JSON',
        );
      }
      const form = await t
        .http()
        .post('/api/v1/auth/token')
        .type('form')
        .send('grant_type=password&username=proto&password=x&__proto__[isAdmin]=true');
      assert.equal(form.status, 400, form.text);
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    });
  });
});

describe('CORS', () => {
  const origin = 'https://app.example.com';
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: `${origin}, https://admin.example.com` } });
  });
  after(async () => {
    await t.close();
  });

  it('allows a listed origin, with credentials', async () => {
    const response = await t.http().get('/api/v1/health/live').set('Origin', origin).expect(200);
    assert.equal(response.headers['access-control-allow-origin'], origin);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.match(response.headers['access-control-expose-headers'] ?? '', /X-Request-Id/);
    assert.match(response.headers.vary ?? '', /Origin/i);
    assertSecurityHeaders(response);
  });

  it('answers a preflight from a listed origin', async () => {
    const response = await t
      .http()
      .options('/api/v1/auth/login')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type, authorization');
    assert.equal(response.status, 204);
    assert.equal(response.headers['access-control-allow-origin'], origin);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.match(response.headers['access-control-allow-methods'] ?? '', /POST/);
    assert.match(response.headers['access-control-allow-headers'] ?? '', /content-type/i);
    assert.equal(response.headers['access-control-max-age'], '600');
    assert.match(response.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    assertSecurityHeaders(response);
  });

  // The browser app changes a profile (PATCH) and revokes sessions (DELETE) cross-origin.
  for (const [method, path] of [
    ['PATCH', '/api/v1/users/me'],
    ['DELETE', '/api/v1/auth/sessions/0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11'],
    ['PUT', '/api/v1/users/0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11/roles/ROLE_ADMIN'],
  ] as const) {
    it(`allows a preflight for ${method} from a listed origin`, async () => {
      const response = await t
        .http()
        .options(path)
        .set('Origin', origin)
        .set('Access-Control-Request-Method', method)
        .set('Access-Control-Request-Headers', 'authorization, content-type');
      assert.equal(response.status, 204);
      const methods = (response.headers['access-control-allow-methods'] ?? '').split(/,\s*/);
      assert.ok(methods.includes(method), `${method} not in ${methods.join(', ')}`);
      assert.match(response.headers['access-control-allow-headers'] ?? '', /authorization/i);
    });
  }

  for (const hostile of [
    'https://evil.example.com',
    'null',
    `${origin}.evil.example.com`,
    'http://app.example.com',
  ]) {
    it(`gives no CORS headers to ${hostile}`, async () => {
      const simple = await t.http().get('/api/v1/health/live').set('Origin', hostile).expect(200);
      const preflight = await t
        .http()
        .options('/api/v1/auth/login')
        .set('Origin', hostile)
        .set('Access-Control-Request-Method', 'POST');
      for (const response of [simple, preflight]) {
        assert.equal(response.headers['access-control-allow-origin'], undefined);
        assert.equal(response.headers['access-control-allow-credentials'], undefined);
      }
      assert.notEqual(preflight.status, 204);
    });
  }

  it('gives no CORS headers without an Origin, and says the answer varies by Origin', async () => {
    const response = await t.http().get('/api/v1/health/live').expect(200);
    assert.equal(response.headers['access-control-allow-origin'], undefined);
    // Otherwise a shared cache could hand this answer to a cross-origin request.
    assert.match(response.headers.vary ?? '', /Origin/i);
  });

  it('treats an OPTIONS request without Access-Control-Request-Method as no preflight', async () => {
    const response = await t.http().options('/api/v1/auth/login').set('Origin', origin);
    assert.notEqual(response.status, 204);
    assert.equal(response.headers['access-control-allow-methods'], undefined);
  });
});

// What an error response must never show: library names, stack frames, SQL, Fastify's codes,
// and raw angle brackets (anything echoed from the request is escaped).
const LEAKS: RegExp[] = [
  /fastify/i,
  /\bnest(js)?\b/i,
  /typeorm/i,
  /class-validator|class-transformer/i,
  /sqlite/i,
  /\bpg\b|postgres/i,
  /node_modules|\.[jt]s:\d+/,
  /\bat \S+ \(|\n\s+at /,
  /\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|DROP)\b/,
  /\b(Syntax|Type|Range|Reference|Query)Error\b|QueryFailed/,
  /FST_ERR|ERR_[A-Z_]+/,
  /[<>]/,
];

function assertNoLeak(label: string, text: string): void {
  for (const leak of LEAKS) assert.doesNotMatch(text, leak, `${label}: ${text}`);
}

/** The port `t` listens on (after `t.app.listen`). */
function portOf(t: TestApp): number {
  return (t.app.getHttpServer() as { address(): AddressInfo }).address().port;
}

/**
 * Bytes no HTTP client would send (a bare CR in a header, UTF-8 in a header, a malformed
 * request line), written to a socket as given; the answer's status and headers.
 */
function rawSocketRequest(
  t: TestApp,
  bytes: Buffer | string,
): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(portOf(t), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...body] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text: body.join('\r\n\r\n') });
    });
    // Not end(): the server would take the half-close for a client that left.
    socket.write(bytes);
  });
}

/** A request supertest cannot make: raw bytes, e.g. a body without a Content-Type. */
function rawRequest(
  t: TestApp,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const { port } = (t.app.getHttpServer() as { address(): AddressInfo }).address();
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text }),
        );
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('error responses', () => {
  let t: TestApp;
  let adminToken: string;
  before(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    adminToken = (await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] })).token;
  });
  after(async () => {
    await t.close();
  });

  it('never echo input raw, and show no stack, SQL or library name', async () => {
    const register = (): Test => t.http().post('/api/v1/auth/register');
    const admin = (test: Test): Test => test.set('Authorization', `Bearer ${adminToken}`);
    const battery: [string, () => Test | Promise<Test>][] = [
      [
        'bad JSON',
        () => register().set('Content-Type', 'application/json').send('{"username": "x"'),
      ],
      ['empty JSON', () => register().set('Content-Type', 'application/json').send('')],
      ['JSON scalar', () => register().set('Content-Type', 'application/json').send('"<b>hi</b>"')],
      ['JSON null', () => register().set('Content-Type', 'application/json').send('null')],
      ['wrong types', () => register().send({ username: 123, email: ['<x>'], password: { a: 1 } })],
      [
        'unknown field named like markup',
        () =>
          register().send({
            username: 'markup',
            email: 'markup@example.com',
            password: PASSWORD,
            '<script>alert(1)</script>': 1,
          }),
      ],
      [
        'SQL in fields',
        () =>
          register().send({
            username: "x'; DROP TABLE users; --",
            email: "a@example.com' OR '1'='1",
            password: "' OR 1=1 --",
          }),
      ],
      [
        'deep JSON',
        () => register().set('Content-Type', 'application/json').send(nestedObject(5000)),
      ],
      [
        '__proto__',
        () =>
          register().set('Content-Type', 'application/json').send('{"a": {"__proto__": {"b": 1}}}'),
      ],
      ['too large', () => register().send({ password: 'x'.repeat(200_000) })],
      ['text/plain', () => register().set('Content-Type', 'text/plain').send('<script>')],
      ['XML', () => register().set('Content-Type', 'application/xml').send('<a>&xxe;</a>')],
      ['form on a JSON route', () => register().type('form').send('username=<script>')],
      ['unknown route with markup', () => t.http().get('/api/v1/<script>alert(1)</script>')],
      ['unknown encoded route', () => t.http().get('/api/v1/%3Cscript%3Ealert(1)%3C%2Fscript%3E')],
      ['bad percent-encoding', () => t.http().get('/api/v1/users/%E0%A4%A')],
      ['over-long path parameter', () => t.http().get(`/api/v1/users/${'a'.repeat(200)}<script>`)],
      ['unknown docs file', () => t.http().get('/docs/<img>.js')],
      ['unknown method', () => t.http().patch('/api/v1/auth/register').send({})],
      [
        'bad bearer token',
        () => t.http().get('/api/v1/users/me').set('Authorization', 'Bearer <script>'),
      ],
      ['SQL in an id', () => admin(t.http().get("/api/v1/users/1' OR '1'='1"))],
      [
        'SQL in a query',
        () => admin(t.http().get('/api/v1/users?sort=name;DROP TABLE users&limit=<1>')),
      ],
      [
        'wrong types in a query',
        () => admin(t.http().get('/api/v1/users?page=-1&limit=abc&isActive=maybe')),
      ],
      [
        'wrong types on PATCH',
        () =>
          admin(
            t
              .http()
              .patch('/api/v1/users/me')
              .send({ username: ['<x>'] }),
          ),
      ],
    ];
    for (const [label, send] of battery) {
      const response = await send();
      assert.ok(response.status >= 400 && response.status < 500, `${label}: ${response.status}`);
      assert.match(
        response.headers['content-type'] ?? '',
        /^application\/problem\+json/,
        `${label}: ${response.status} ${response.text}`,
      );
      assertProblem(response, response.status);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', label);
      assertNoLeak(label, response.text);
      assertNoLeak(label, JSON.stringify(response.headers));
    }
  });

  it('escapes what it must echo', async () => {
    const response = await t
      .http()
      .post('/api/v1/auth/register')
      .send({ username: 'echo', email: 'echo@example.com', password: PASSWORD, '<b>&': 1 });
    assertProblem(response, 400);
    assert.ok(response.text.includes('\\u003cb\\u003e\\u0026'), response.text);
    const fields = (response.body as { errors: { field: string }[] }).errors.map((e) => e.field);
    assert.ok(fields.includes('<b>&'));

    const path = await t.http().get('/api/v1/<b>"x"</b>').expect(404);
    assert.equal((path.body as { instance: string }).instance, '/api/v1/%3Cb%3E%22x%22%3C/b%3E');
  });

  it('answers a body without a Content-Type with 415', async () => {
    const response = await rawRequest(t, {
      method: 'POST',
      path: '/api/v1/auth/register',
      headers: { 'Content-Length': '7' },
      body: '<x>y</x',
    });
    assert.equal(response.status, 415, response.text);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assertNoLeak('no content type', response.text);
  });

  it('answers oversized headers with 431 problem+json', async () => {
    const response = await rawRequest(t, {
      method: 'GET',
      path: '/api/v1/health/live',
      headers: { 'X-Padding': 'a'.repeat(20_000) },
    });
    assert.equal(response.status, 431);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal((JSON.parse(response.text) as { status: number }).status, 431);
    assertNoLeak('huge header', response.text);
  });

  it('keeps the OAuth2 error shape on the token endpoint, without leaks', async () => {
    const response = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send({ grant_type: '<script>', username: "' OR 1=1 --" });
    assert.equal(response.status, 400);
    assert.match(response.headers['content-type'] ?? '', /^application\/json/);
    assertNoLeak('token', response.text);
  });
});

describe('headers on every answer', () => {
  let t: TestApp;
  let adminToken: string;
  before(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    adminToken = (await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] })).token;
  });
  after(async () => {
    await t.close();
  });

  function assertNoStore(label: string, response: WithHeaders): void {
    assert.equal(response.headers['cache-control'], 'no-store', label);
  }

  it('puts Cache-Control: no-store on answers with personal data or tokens', async () => {
    const admin = (test: Test): Test => test.set('Authorization', `Bearer ${adminToken}`);
    const user = await createUser(t);
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: user.password })
      .expect(200);
    const { access_token: token, refresh_token: refreshToken } = login.body as {
      access_token: string;
      refresh_token: string;
    };
    const bearer = (test: Test): Test => test.set('Authorization', `Bearer ${token}`);
    const answers: [string, Response][] = [
      ['login', login],
      [
        'register',
        await t
          .http()
          .post('/api/v1/auth/register')
          .send({ username: 'cached', email: 'cached@example.com', password: PASSWORD })
          .expect(201),
      ],
      [
        'token endpoint',
        await t
          .http()
          .post('/api/v1/auth/token')
          .type('form')
          .send({ grant_type: 'password', username: user.username, password: user.password })
          .expect(200),
      ],
      [
        'refresh',
        await t
          .http()
          .post('/api/v1/auth/refresh')
          .send({ refresh_token: refreshToken })
          .expect(200),
      ],
      ['users/me', await bearer(t.http().get('/api/v1/users/me')).expect(200)],
      [
        'PATCH users/me',
        await bearer(t.http().patch('/api/v1/users/me'))
          .send({ username: `${user.username}x`.slice(0, 32) })
          .expect(200),
      ],
      ['sessions', await bearer(t.http().get('/api/v1/auth/sessions')).expect(200)],
      ['users', await admin(t.http().get('/api/v1/users')).expect(200)],
      ['users/:id', await admin(t.http().get(`/api/v1/users/${user.user.id}`)).expect(200)],
      ['audit events', await admin(t.http().get('/api/v1/audit-events')).expect(200)],
      ['health', await t.http().get('/api/v1/health/live').expect(200)],
      ['OpenAPI document', await t.http().get('/docs-json').expect(200)],
    ];
    for (const [label, response] of answers) {
      assertNoStore(label, response);
      assertSecurityHeaders(response);
    }
    // The one answer meant to be cached: public keys, by its own route.
    const jwks = await t.http().get('/.well-known/jwks.json').expect(200);
    assert.equal(jwks.headers['cache-control'], 'public, max-age=300');
  });

  it('puts the same security headers and no-store on the errors Fastify and Node make', async () => {
    const userToken = await loginToken(t, (await createUser(t)).username);
    const answers: [string, Response][] = [
      ['unknown route', await t.http().get('/api/v1/nothing-here').expect(404)],
      ['unknown method', await t.http().patch('/api/v1/auth/register').send({}).expect(404)],
      [
        'body too large',
        await t
          .http()
          .post('/api/v1/auth/register')
          .send({ password: 'x'.repeat(200_000) })
          .expect(413),
      ],
      [
        'media type',
        await t
          .http()
          .post('/api/v1/auth/register')
          .set('Content-Type', 'text/plain')
          .send('x')
          .expect(415),
      ],
      [
        'invalid JSON',
        await t
          .http()
          .post('/api/v1/auth/login')
          .set('Content-Type', 'application/json')
          .send('{')
          .expect(400),
      ],
      [
        'nested JSON',
        await t
          .http()
          .post('/api/v1/auth/login')
          .set('Content-Type', 'application/json')
          .send(nestedObject(100))
          .expect(400),
      ],
      ['bad percent-encoding', await t.http().get('/api/v1/users/%E0%A4%A').expect(400)],
      [
        'long path parameter',
        await t
          .http()
          .get(`/api/v1/users/${'a'.repeat(200)}`)
          .expect(414),
      ],
      [
        'long URL',
        await t
          .http()
          .get(`/api/v1/health/live?${'a'.repeat(9000)}`)
          .expect(414),
      ],
      ['no token', await t.http().get('/api/v1/users/me').expect(401)],
      [
        'not an admin',
        await t
          .http()
          .get('/api/v1/content/admin')
          .set('Authorization', `Bearer ${userToken}`)
          .expect(403),
      ],
      [
        'malformed id',
        await t
          .http()
          .get('/api/v1/users/not-a-uuid')
          .set('Authorization', `Bearer ${adminToken}`)
          .expect(400),
      ],
    ];
    for (const [label, response] of answers) {
      assertSecurityHeaders(response);
      assertNoStore(label, response);
      assert.match(response.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/, label);
    }
    // Refused by Node's HTTP parser, before Fastify: oversized headers, a malformed request.
    const raw = [
      await rawSocketRequest(
        t,
        `GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`,
      ),
      await rawSocketRequest(t, 'GET /api/v1/health/live HTTP/1.1\r\nHost x\r\n\r\n'),
    ];
    assert.deepEqual(
      raw.map((response) => response.status),
      [431, 400],
    );
    for (const response of raw) {
      assertSecurityHeaders(response);
      assertNoStore(String(response.status), response);
    }
  });
});

describe('request ids', () => {
  const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await t.close();
  });

  /** A login through a raw socket, with `requestIdLine` sent as the request id header line. */
  async function loginWithRawRequestId(
    username: string,
    requestIdLine: Buffer,
  ): Promise<{ status: number; headers: Record<string, string> }> {
    const body = JSON.stringify({ username, password: PASSWORD });
    return rawSocketRequest(
      t,
      Buffer.concat([
        Buffer.from(
          'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`,
        ),
        requestIdLine,
        Buffer.from(`\r\n\r\n${body}`),
      ]),
    );
  }

  /** The request ids stored with `user`'s audit events. */
  async function storedRequestIds(userId: string): Promise<(string | null)[]> {
    const events = await t.dataSource
      .getRepository(AuditEvent)
      .find({ where: { subjectUserId: userId } });
    return events.map((event) => event.requestId);
  }

  it('keeps a plain caller id in the response and the audit log', async () => {
    const user = await createUser(t);
    const response = await t
      .http()
      .post('/api/v1/auth/login')
      .set('X-Request-Id', 'trace-1.2:3_x')
      .send({ username: user.username, password: user.password })
      .expect(200);
    assert.equal(response.headers['x-request-id'], 'trace-1.2:3_x');
    assert.ok((await storedRequestIds(user.user.id)).includes('trace-1.2:3_x'));
  });

  it('replaces a 10 kB, tabbed, unicode, repeated or control-character id with its own', async () => {
    const user = await createUser(t);
    const hostile: Buffer[] = [
      Buffer.from(`X-Request-Id: ${'a'.repeat(10_240)}`),
      Buffer.from('X-Request-Id: a'.padEnd(14 + 65, 'b')),
      Buffer.from('X-Request-Id: trace\tone'),
      Buffer.from('X-Request-Id: trace one'),
      Buffer.from('X-Request-Id: trace-é-✓-\u202e', 'utf8'),
      Buffer.from('X-Request-Id: trace-\xe9', 'latin1'),
      Buffer.from('X-Request-Id: <script>'),
      Buffer.from('X-Request-Id: one\r\nX-Request-Id: two'),
      Buffer.from('X-Request-Id: '),
    ];
    const ids: string[] = [];
    for (const line of hostile) {
      const response = await loginWithRawRequestId(user.username, line);
      assert.equal(response.status, 200, line.toString('latin1').slice(0, 80));
      const id = response.headers['x-request-id'] ?? '';
      assert.match(id, UUID, line.toString('latin1').slice(0, 80));
      ids.push(id);
    }
    const stored = await storedRequestIds(user.user.id);
    for (const id of ids) assert.ok(stored.includes(id), `audit event with request id ${id}`);
    for (const id of stored) assert.match(id ?? '', SAFE_ID);
  });

  it('never echoes a CR or LF a header tried to carry', async () => {
    const user = await createUser(t);
    for (const line of [
      Buffer.from('X-Request-Id: abc\rSet-Cookie: x=1'),
      Buffer.from('X-Request-Id: abc\nSet-Cookie: x=1'),
      Buffer.from('X-Request-Id: abc\r\n Set-Cookie: x=1'),
    ]) {
      const response = await loginWithRawRequestId(user.username, line);
      // Node's parser refuses a bare CR or LF and a folded line (400); nothing else may pass.
      assert.equal(response.status, 400, line.toString('latin1'));
      assert.equal(response.headers['set-cookie'], undefined);
      assert.doesNotMatch(response.headers['x-request-id'] ?? '', /abc|cookie/i);
    }
    for (const id of await storedRequestIds(user.user.id)) assert.match(id ?? '', SAFE_ID);
  });
});

describe('unexpected errors', () => {
  it('are logged and answered with a generic 500, without the SQL that failed', async () => {
    const t = await createTestApp();
    const logged: unknown[][] = [];
    const quiet = (): void => undefined;
    t.app.useLogger({
      log: quiet,
      warn: quiet,
      debug: quiet,
      verbose: quiet,
      fatal: quiet,
      error: (...args: unknown[]) => logged.push(args),
    });
    try {
      // A failure no service anticipates: a table the registration writes to is gone.
      await t.dataSource.query('DROP TABLE users_to_roles');
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ username: 'broken', email: 'broken@example.com', password: PASSWORD });
      assertProblem(response, 500);
      assert.equal((response.body as { detail?: string }).detail, 'An unexpected error occurred');
      assertNoLeak('500', response.text);
      assert.match(JSON.stringify(logged), /users_to_roles/);
    } finally {
      await t.close();
    }
  });
});

describe('Swagger UI in a browser', { skip: WITHOUT_CHROMIUM }, () => {
  it('renders every operation and runs "Try it out" with no CSP violation', async () => {
    const t = await createTestApp();
    const browser = await launchChromium();
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = (t.app.getHttpServer() as { address(): AddressInfo }).address();
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || /Content.Security.Policy/i.test(message.text())) {
          problems.push(`console: ${message.text()}`);
        }
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
      page.on('request', (request) => {
        if (
          !request.url().startsWith(`http://127.0.0.1:${port}/`) &&
          !request.url().startsWith('data:')
        ) {
          problems.push(`external request: ${request.url()}`);
        }
      });
      // Chromium reports violations on the console too; the event also catches report-only ones.
      await page.addInitScript({
        content: `document.addEventListener('securitypolicyviolation', (event) =>
          console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI));`,
      });

      const response = await page.goto(`http://127.0.0.1:${port}/docs`);
      assert.equal(response?.status(), 200);
      await page.waitForSelector('.opblock', { timeout: 15_000 });
      const openApi = (await t.http().get('/docs-json').expect(200)).body as {
        paths: Record<string, Record<string, unknown>>;
      };
      const operations = Object.values(openApi.paths).reduce(
        (n, item) => n + Object.keys(item).length,
        0,
      );
      assert.equal(await page.locator('.opblock').count(), operations);

      // "Try it out" on the liveness probe: a fetch to this origin (connect-src).
      const live = page.locator('.opblock', { hasText: '/api/v1/health/live' }).first();
      await live.locator('.opblock-summary').click();
      await live.getByRole('button', { name: 'Execute' }).click();
      await live
        .locator('.responses-table.live-responses-table .response-col_status')
        .first()
        .waitFor();
      assert.match(await live.locator('.live-responses-table').innerText(), /200/);

      // "Authorize" with the OAuth2 password flow: a form-encoded POST to the token endpoint.
      const user = await createUser(t);
      await page.locator('.auth-wrapper .authorize').click();
      await page.locator('#oauth_username').fill(user.username);
      await page.locator('#oauth_password').fill(user.password);
      const token = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/token'));
      await page
        .locator('.auth-container', { has: page.locator('#oauth_username') })
        .locator('button.authorize')
        .click();
      assert.equal((await token).status(), 200);
      await page.getByRole('button', { name: 'Logout' }).first().waitFor();
      if (process.env.SWAGGER_SCREENSHOT) {
        await page.screenshot({ path: process.env.SWAGGER_SCREENSHOT });
      }

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await t.close();
    }
  });
});
