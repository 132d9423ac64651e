import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { AUTHORIZATION_CODE_TTL } from '../src/oidc/provider/oidc-configuration';
import { OidcModelsRepository } from '../src/oidc/provider/oidc-models.repository';
import { RetentionService } from '../src/retention/retention.service';
import { createUser, type CreatedUser } from './helpers/factories';
import { parsePrometheus, valueOf } from './helpers/prometheus';
import { FormBrowser, insertClient, type OidcApp, startOidcApp } from './helpers/oidc';

const REDIRECT = 'http://127.0.0.1:5998/callback';
const METRICS_TOKEN = 'metrics-scraper-token-for-the-oidc-tests-0123';
/** An origin the API allows (CORS_ORIGINS) that is no client's. */
const API_PAGE = 'http://127.0.0.1:5001';

interface Authorized {
  code: string;
  verifier: string;
}

/** Signs `user` in for a code, as a browser would, without redeeming it. */
async function authorize(
  app: OidcApp,
  clientId: string,
  user: CreatedUser,
  params: Record<string, string> = {},
): Promise<Authorized> {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = new URL(`${app.issuer}/oidc/auth`);
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    state: 'state-1',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  }).toString();
  const back = await new FormBrowser().signIn(url.href, REDIRECT, user);
  const code = new URL(back.url).searchParams.get('code');
  assert.ok(code, `no code: ${back.url} ${back.html}`);
  return { code, verifier };
}

/** POST /oidc/token as a public client: the RFC 6749 status and body. */
async function redeem(
  app: OidcApp,
  clientId: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${app.issuer}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT,
      client_id: clientId,
      ...fields,
    }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('OpenID Provider: what a client or an attacker gets wrong', () => {
  let app: OidcApp;
  let user: CreatedUser;
  let clientId: string;

  before(async () => {
    app = await startOidcApp({ CORS_ORIGINS: API_PAGE, METRICS_TOKEN });
    user = await createUser(app.t);
    ({ clientId } = await insertClient(app.t, { redirectUris: [REDIRECT] }));
  });
  after(() => app.t.close());

  it('an unregistered redirect URI is an error page, never a redirect', async () => {
    const url = new URL(`${app.issuer}/oidc/auth`);
    url.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:5998/callback/../evil',
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const answer = await new FormBrowser().request(url.href, { method: 'GET' });
    assert.equal(answer.status, 400);
    assert.equal(answer.location, null);
    assert.match(answer.html, /invalid_redirect_uri/);
  });

  it('an unknown client is an error page', async () => {
    const answer = await new FormBrowser().request(
      `${app.issuer}/oidc/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`,
      { method: 'GET' },
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.location, null);
    assert.match(answer.html, /invalid_client/);
  });

  it('PKCE is required: without a code_challenge the app is told invalid_request', async () => {
    const url = `${app.issuer}/oidc/auth?${new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid',
      state: 's',
    }).toString()}`;
    const answer = await new FormBrowser().request(url, { method: 'GET' });
    assert.equal(answer.status, 303);
    const location = new URL(answer.location ?? '');
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(location.searchParams.get('state'), 's');
  });

  it('a missing or wrong code_verifier is invalid_grant', async () => {
    const missing = await authorize(app, clientId, user);
    const withoutVerifier = await redeem(app, clientId, { code: missing.code });
    assert.equal(withoutVerifier.status, 400);
    assert.equal(withoutVerifier.body.error, 'invalid_grant');

    const wrong = await authorize(app, clientId, user);
    const wrongVerifier = await redeem(app, clientId, {
      code: wrong.code,
      code_verifier: oidc.randomPKCECodeVerifier(),
    });
    assert.equal(wrongVerifier.status, 400);
    assert.equal(wrongVerifier.body.error, 'invalid_grant');
  });

  it('a code works once; its reuse is invalid_grant and revokes what it gave', async () => {
    const { code, verifier } = await authorize(app, clientId, user, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const first = await redeem(app, clientId, { code, code_verifier: verifier });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await redeem(app, clientId, { code, code_verifier: verifier });
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
    const userinfo = await fetch(`${app.issuer}/oidc/me`, {
      headers: { authorization: `Bearer ${String(first.body.access_token)}` },
    });
    assert.equal(userinfo.status, 401);
  });

  it('of two concurrent redemptions of one code exactly one gets tokens', async () => {
    const { code, verifier } = await authorize(app, clientId, user);
    const answers = await Promise.all(
      [1, 2, 3].map(() => redeem(app, clientId, { code, code_verifier: verifier })),
    );
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400, 400]);
  });

  it(`a code older than ${AUTHORIZATION_CODE_TTL} s is invalid_grant`, async () => {
    const { code, verifier } = await authorize(app, clientId, user);
    app.t.clock.advance(AUTHORIZATION_CODE_TTL + 1);
    const late = await redeem(app, clientId, { code, code_verifier: verifier });
    assert.equal(late.status, 400);
    assert.equal(late.body.error, 'invalid_grant');
  });

  it('a code is bound to its client and redirect URI', async () => {
    const other = await insertClient(app.t, { redirectUris: [REDIRECT] });
    const { code, verifier } = await authorize(app, clientId, user);
    const stolen = await redeem(app, other.clientId, { code, code_verifier: verifier });
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.error, 'invalid_grant');
  });

  it('pruning removes what the provider stored once it expired', async () => {
    await authorize(app, clientId, user);
    const models = app.t.app.get(OidcModelsRepository);
    assert.ok((await models.count('AuthorizationCode')) > 0);
    assert.ok((await models.count('Session')) > 0);
    const before = await models.count('Session');
    // Past every lifetime: codes (a minute), interactions, sessions (REFRESH_ABSOLUTE_TTL).
    app.t.clock.advance(app.t.config.refresh.absoluteTtlSeconds + 1);
    const result = await app.t.app.get(RetentionService).prune();
    assert.ok(result.oidcModels >= before, `pruned ${result.oidcModels}`);
    assert.equal(await models.count('AuthorizationCode'), 0);
    assert.equal(await models.count('Session'), 0);
  });

  it('CORS on the provider is per client: CORS_ORIGINS of the API does not widen it', async () => {
    const from = async (origin: string) =>
      fetch(`${app.issuer}/oidc/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'x',
          client_id: clientId,
        }),
      });
    const listed = await from(API_PAGE);
    assert.equal(listed.headers.get('access-control-allow-origin'), null);
    const own = await from(new URL(REDIRECT).origin);
    assert.equal(own.headers.get('access-control-allow-origin'), new URL(REDIRECT).origin);
    // The API itself still answers its listed origin.
    const api = await fetch(`${app.issuer}/api/v1/health/live`, { headers: { origin: API_PAGE } });
    assert.equal(api.headers.get('access-control-allow-origin'), API_PAGE);
  });

  it("CORS on the provider: a native app's private-use scheme admits no opaque origin", async () => {
    const native = await insertClient(app.t, {
      redirectUris: ['com.example.app:/callback'],
      applicationType: 'native',
    });
    // A sandboxed frame or a file: page sends `Origin: null`, the "origin" of that scheme.
    const response = await fetch(`${app.issuer}/oidc/token`, {
      method: 'POST',
      headers: { origin: 'null', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: native.clientId,
      }),
    });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });

  it("the provider's requests are counted in the metrics by route template and status", async () => {
    await fetch(`${app.issuer}/.well-known/openid-configuration`);
    const refused = await redeem(app, clientId, { code: 'no-such-code', code_verifier: 'x' });
    assert.equal(refused.status, 400);
    const metrics = await app.t
      .http()
      .get('/metrics')
      .set('authorization', `Bearer ${METRICS_TOKEN}`)
      .expect(200);
    const samples = parsePrometheus(metrics.text);
    const count = (labels: Record<string, string>) =>
      valueOf(samples, 'http_request_duration_seconds_count', labels);
    assert.ok(count({ method: 'POST', route: '/oidc/*', status_code: '400' }) >= 1);
    assert.ok(
      count({ method: 'GET', route: '/.well-known/openid-configuration', status_code: '200' }) >= 1,
    );
  });
});
