import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { createUser, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface RefreshCookie {
  value: string;
  /** Attribute names lower-cased; flags map to ''. */
  attributes: Map<string, string>;
}

/** The one refresh_token Set-Cookie of a response, parsed. */
function refreshCookieOf(response: Response): RefreshCookie {
  const headers = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  const cookies = headers.filter((header) => header.startsWith('refresh_token='));
  assert.equal(
    cookies.length,
    1,
    `expected one refresh_token cookie, got ${JSON.stringify(headers)}`,
  );
  const [pair, ...attributes] = (cookies[0] ?? '').split(';').map((part) => part.trim());
  return {
    value: (pair ?? '').slice('refresh_token='.length),
    attributes: new Map(
      attributes.map((attribute) => {
        const [name = '', value = ''] = attribute.split('=');
        return [name.toLowerCase(), value];
      }),
    ),
  };
}

function assertCookieAttributes(
  cookie: RefreshCookie,
  maxAge: number,
  sameSite: 'Strict' | 'Lax' | 'None' = 'Strict',
): void {
  assert.deepEqual(Object.fromEntries(cookie.attributes), {
    path: '/api/v1/auth',
    'max-age': String(maxAge),
    httponly: '',
    secure: '',
    samesite: sameSite,
  });
}

function assertOAuthError(response: Response, status: number, error: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body as object).sort(), ['error', 'error_description']);
  assert.equal((response.body as { error: string }).error, error);
}

describe('refresh token in an HttpOnly cookie (REFRESH_TOKEN_COOKIE=true)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { REFRESH_TOKEN_COOKIE: 'true' } });
  });
  after(async () => {
    await t.close();
  });

  async function login(): Promise<{
    response: Response;
    accessToken: string;
    cookie: RefreshCookie;
  }> {
    const user = await createUser(t);
    const response = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
    return {
      response,
      accessToken: (response.body as { access_token: string }).access_token,
      cookie: refreshCookieOf(response),
    };
  }

  const refreshWithCookie = (value: string) =>
    t.http().post('/api/v1/auth/refresh').set('Cookie', `refresh_token=${value}`);
  const me = (accessToken: string) =>
    t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${accessToken}`);

  it('login moves the refresh token from the body into a Secure, HttpOnly, SameSite=Strict cookie', async () => {
    const { response, cookie } = await login();
    const body = response.body as Record<string, unknown>;
    assert.equal(typeof body.access_token, 'string');
    assert.equal(body.token_type, 'Bearer');
    assert.equal(typeof body.refresh_expires_in, 'number');
    assert.equal('refresh_token' in body, false);

    // 256 bits, base64url.
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43,}$/);
    assertCookieAttributes(cookie, body.refresh_expires_in as number);
  });

  it('refresh reads the cookie, answers a new pair with a new cookie, and refuses the old value', async () => {
    const { accessToken, cookie } = await login();

    const response = await refreshWithCookie(cookie.value).expect(200);
    const body = response.body as { access_token: string; refresh_expires_in: number };
    assert.equal('refresh_token' in body, false);
    assert.notEqual(body.access_token, accessToken);
    const rotated = refreshCookieOf(response);
    assert.notEqual(rotated.value, cookie.value);
    assertCookieAttributes(rotated, body.refresh_expires_in);
    await me(body.access_token).expect(200);

    assertOAuthError(await refreshWithCookie(cookie.value), 401, 'invalid_grant');
    await refreshWithCookie(rotated.value).expect(200);
  });

  it('refresh with neither a body nor a cookie is invalid_request', async () => {
    assertOAuthError(await t.http().post('/api/v1/auth/refresh'), 400, 'invalid_request');
    // What a browser would send back after logout cleared the cookie.
    assertOAuthError(await refreshWithCookie(''), 400, 'invalid_request');
  });

  it('logout revokes the session and clears the cookie', async () => {
    const { cookie: first } = await login();
    const refreshed = await refreshWithCookie(first.value).expect(200);
    const accessToken = (refreshed.body as { access_token: string }).access_token;
    const last = refreshCookieOf(refreshed);

    const response = await t
      .http()
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${accessToken}`)
      .set('Cookie', `refresh_token=${last.value}`)
      .expect(204);
    const cleared = refreshCookieOf(response);
    assert.equal(cleared.value, '');
    assertCookieAttributes(cleared, 0);

    assertOAuthError(await refreshWithCookie(last.value), 401, 'invalid_grant');
    assert.equal((await me(accessToken)).status, 401);
  });

  it('the OAuth2 token endpoint still returns the refresh token in the body', async () => {
    const user = await createUser(t);
    const response = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send({ grant_type: 'password', username: user.username, password: TEST_PASSWORD })
      .expect(200);
    const body = response.body as { access_token: string; refresh_token: string };
    assert.equal(typeof body.access_token, 'string');
    assert.match(body.refresh_token, /^[A-Za-z0-9_-]{43,}$/);

    // The body token is still accepted by /auth/refresh, which answers in cookie mode.
    const refreshed = await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: body.refresh_token })
      .expect(200);
    assert.equal('refresh_token' in (refreshed.body as object), false);
    assert.notEqual(refreshCookieOf(refreshed).value, body.refresh_token);
  });
});

describe('refresh token in the body (default)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('login sets no cookie and returns the refresh token in the body', async () => {
    const user = await createUser(t);
    const response = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
    assert.equal(response.headers['set-cookie'], undefined);
    assert.match(
      (response.body as { refresh_token: string }).refresh_token,
      /^[A-Za-z0-9_-]{43,}$/,
    );
  });

  it('refresh ignores a refresh cookie', async () => {
    const user = await createUser(t);
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
    const response = await t
      .http()
      .post('/api/v1/auth/refresh')
      .set('Cookie', `refresh_token=${(login.body as { refresh_token: string }).refresh_token}`);
    assertOAuthError(response, 400, 'invalid_request');
  });
});

describe('REFRESH_COOKIE_SAMESITE=lax', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: { REFRESH_TOKEN_COOKIE: 'true', REFRESH_COOKIE_SAMESITE: 'lax' },
    });
  });
  after(async () => {
    await t.close();
  });

  it('sets SameSite=Lax on login, refresh and logout, and refreshes without a CSRF header', async () => {
    const user = await createUser(t);
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
    const cookie = refreshCookieOf(login);
    assertCookieAttributes(
      cookie,
      (login.body as { refresh_expires_in: number }).refresh_expires_in,
      'Lax',
    );

    const refreshed = await t
      .http()
      .post('/api/v1/auth/refresh')
      .set('Cookie', `refresh_token=${cookie.value}`)
      .expect(200);
    const body = refreshed.body as { access_token: string; refresh_expires_in: number };
    assertCookieAttributes(refreshCookieOf(refreshed), body.refresh_expires_in, 'Lax');

    const logout = await t
      .http()
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${body.access_token}`)
      .expect(204);
    assertCookieAttributes(refreshCookieOf(logout), 0, 'Lax');
  });
});

describe('REFRESH_COOKIE_SAMESITE=none: an SPA on another site', () => {
  const SPA = 'https://spa.example.net';
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: {
        REFRESH_TOKEN_COOKIE: 'true',
        REFRESH_COOKIE_SAMESITE: 'none',
        CORS_ORIGINS: `${SPA},https://admin.example.org`,
      },
    });
  });
  after(async () => {
    await t.close();
  });

  /** Logs in as the SPA's fetch(..., {credentials: 'include'}) does. */
  async function spaLogin(): Promise<{ accessToken: string; cookie: RefreshCookie }> {
    const user = await createUser(t);
    const response = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Origin', SPA)
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(200);
    assert.equal(response.headers['access-control-allow-origin'], SPA);
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    const cookie = refreshCookieOf(response);
    assertCookieAttributes(
      cookie,
      (response.body as { refresh_expires_in: number }).refresh_expires_in,
      'None',
    );
    return { accessToken: (response.body as { access_token: string }).access_token, cookie };
  }

  const cookieRefresh = (cookie: string, headers: Record<string, string>) =>
    t
      .http()
      .post('/api/v1/auth/refresh')
      .set({ Cookie: `refresh_token=${cookie}`, ...headers });

  it('lets the header through the preflight of a listed origin only', async () => {
    const preflight = (origin: string) =>
      t
        .http()
        .options('/api/v1/auth/refresh')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'x-csrf-protection');
    const allowed = await preflight(SPA).expect(204);
    assert.equal(allowed.headers['access-control-allow-origin'], SPA);
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
    assert.match(allowed.headers['access-control-allow-headers'] ?? '', /x-csrf-protection/i);
    const foreign = await preflight('https://evil.example.com');
    assert.notEqual(foreign.status, 204);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  });

  it('refreshes by cookie with an allowed Origin and the X-CSRF-Protection header', async () => {
    const { cookie } = await spaLogin();
    const response = await cookieRefresh(cookie.value, {
      Origin: SPA,
      'X-CSRF-Protection': '1',
    }).expect(200);
    assert.equal(response.headers['access-control-allow-origin'], SPA);
    const body = response.body as { access_token: string; refresh_expires_in: number };
    assert.equal('refresh_token' in body, false);
    const rotated = refreshCookieOf(response);
    assert.notEqual(rotated.value, cookie.value);
    assertCookieAttributes(rotated, body.refresh_expires_in, 'None');
    await t
      .http()
      .get('/api/v1/users/me')
      .set('Authorization', `Bearer ${body.access_token}`)
      .expect(200);
  });

  it('answers 403 to a cookie refresh without the defence, and leaves the cookie usable', async () => {
    const { cookie } = await spaLogin();
    const refusals: Record<string, string>[] = [
      // What a form or a simple request from any site would carry.
      { Origin: 'https://evil.example.com' },
      { Origin: SPA },
      { Origin: 'https://evil.example.com', 'X-CSRF-Protection': '1' },
      { 'X-CSRF-Protection': '1' },
      { Origin: SPA, 'X-CSRF-Protection': '' },
    ];
    for (const headers of refusals) {
      const response = await cookieRefresh(cookie.value, headers);
      assertOAuthError(response, 403, 'invalid_request');
      assert.equal(response.headers['set-cookie'], undefined, JSON.stringify(headers));
    }
    // Refused before the rotation: the same cookie still works with the defence.
    await cookieRefresh(cookie.value, { Origin: SPA, 'X-CSRF-Protection': '1' }).expect(200);
  });

  it('takes a refresh token from the body without the defence (no ambient credential)', async () => {
    const user = await createUser(t);
    const token = await t
      .http()
      .post('/api/v1/auth/token')
      .type('form')
      .send({ grant_type: 'password', username: user.username, password: TEST_PASSWORD })
      .expect(200);
    await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: (token.body as { refresh_token: string }).refresh_token })
      .expect(200);
  });

  it('logout clears the cookie with SameSite=None, so a cross-site response can remove it', async () => {
    const { accessToken, cookie } = await spaLogin();
    const response = await t
      .http()
      .post('/api/v1/auth/logout')
      .set('Origin', SPA)
      .set('Authorization', `Bearer ${accessToken}`)
      .set('Cookie', `refresh_token=${cookie.value}`)
      .expect(204);
    assertCookieAttributes(refreshCookieOf(response), 0, 'None');
    assertOAuthError(
      await cookieRefresh(cookie.value, { Origin: SPA, 'X-CSRF-Protection': '1' }),
      401,
      'invalid_grant',
    );
  });
});
