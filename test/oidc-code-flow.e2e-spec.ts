import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { createUser, type CreatedUser } from './helpers/factories';
import {
  discover,
  FormBrowser,
  insertClient,
  type OidcApp,
  type RegisteredClient,
  startOidcApp,
} from './helpers/oidc';

const REDIRECT = 'http://127.0.0.1:5999/callback';

async function codeFlow(
  config: oidc.Configuration,
  user: CreatedUser,
  params: Record<string, string> = {},
  browser = new FormBrowser(),
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid profile email roles offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  const back = await browser.signIn(url.href, REDIRECT, user);
  assert.ok(back.url.startsWith(REDIRECT), `not back at the app: ${back.status} ${back.html}`);
  return oidc.authorizationCodeGrant(
    config,
    new URL(back.url),
    { pkceCodeVerifier: verifier, expectedState: state },
    params.resource === undefined ? undefined : { resource: params.resource },
  );
}

/** The ID token's signature checks out against the service's one key set (jose). */
async function assertSignedByPublishedKey(
  app: OidcApp,
  idToken: string | undefined,
): Promise<void> {
  assert.ok(idToken);
  const keys = createRemoteJWKSet(new URL(`${app.issuer}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(idToken, keys, { issuer: app.issuer });
  assert.ok(payload.sub);
}

describe('OpenID Provider: authorization code + PKCE with openid-client', () => {
  let app: OidcApp;
  let user: CreatedUser;
  let spa: RegisteredClient;

  before(async () => {
    app = await startOidcApp();
    user = await createUser(app.t);
    spa = await insertClient(app.t, { redirectUris: [REDIRECT] });
  });
  after(() => app.t.close());

  it('discovery names our endpoints and key set', async () => {
    const config = await discover(app, spa);
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, app.issuer);
    assert.equal(metadata.authorization_endpoint, `${app.issuer}/oidc/auth`);
    assert.equal(metadata.token_endpoint, `${app.issuer}/oidc/token`);
    assert.equal(metadata.jwks_uri, `${app.issuer}/.well-known/jwks.json`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(metadata.response_types_supported, ['code']);
    // RFC 8414's name for the same document.
    const rfc8414 = await fetch(`${app.issuer}/.well-known/oauth-authorization-server`);
    assert.equal(rfc8414.status, 200);
    assert.deepEqual(await rfc8414.json(), metadata);
  });

  it('signs a user in: id_token validated, userinfo, refresh', async () => {
    const config = await discover(app, spa);
    const tokens = await codeFlow(config, user);
    const claims = tokens.claims();
    assert.equal(claims?.sub, user.user.id);
    await assertSignedByPublishedKey(app, tokens.id_token);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.user.id);
    assert.equal(info.preferred_username, user.username);
    assert.equal(info.email, user.email);
    assert.deepEqual(info.roles, ['ROLE_USER']);
    assert.ok(tokens.refresh_token);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  });

  it('an access token for the API works at the API and dies with logout', async () => {
    const config = await discover(app, spa);
    const tokens = await codeFlow(config, user, { resource: app.api });
    const me = await app.t
      .http()
      .get('/api/v1/users/me')
      .set('authorization', `Bearer ${tokens.access_token}`);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.username, user.username);
    await app.t
      .http()
      .post('/api/v1/auth/logout')
      .set('authorization', `Bearer ${tokens.access_token}`)
      .expect(204);
    await app.t
      .http()
      .get('/api/v1/users/me')
      .set('authorization', `Bearer ${tokens.access_token}`)
      .expect(401);
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
  });
});

describe('OpenID Provider with ES256 access tokens: one key signs both', () => {
  let app: OidcApp;
  let user: CreatedUser;
  let spa: RegisteredClient;

  before(async () => {
    app = await startOidcApp({ JWT_ALGORITHM: 'ES256' });
    user = await createUser(app.t);
    spa = await insertClient(app.t, { redirectUris: [REDIRECT] });
  });
  after(() => app.t.close());

  it('publishes one key; ID and API tokens are signed with it and the API accepts its token', async () => {
    const jwks = (await (await fetch(`${app.issuer}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    assert.deepEqual(
      jwks.keys.map((key) => key.kid),
      [app.t.config.jwt.signingKid],
    );
    const config = await discover(app, spa);
    const tokens = await codeFlow(config, user, { resource: app.api });
    await assertSignedByPublishedKey(app, tokens.id_token);
    const header = JSON.parse(
      Buffer.from(tokens.access_token.split('.')[0] ?? '', 'base64url').toString(),
    ) as { alg: string; kid: string; typ: string };
    assert.deepEqual(header, { alg: 'ES256', typ: 'at+jwt', kid: app.t.config.jwt.signingKid });
    await app.t
      .http()
      .get('/api/v1/users/me')
      .set('authorization', `Bearer ${tokens.access_token}`)
      .expect(200);
  });
});

describe('OIDC_ENABLED=false', () => {
  let app: OidcApp;
  before(async () => {
    app = await startOidcApp({ OIDC_ENABLED: 'false' });
  });
  after(() => app.t.close());

  it('serves no provider: no discovery, no endpoints, no sign-in pages, no ID-token key', async () => {
    for (const path of [
      '/.well-known/openid-configuration',
      '/oidc/auth?client_id=x',
      '/oidc/interaction/some-uid',
    ]) {
      const answer = await fetch(`${app.issuer}${path}`);
      assert.equal(answer.status, 404, path);
    }
    const token = await fetch(`${app.issuer}/oidc/token`, { method: 'POST' });
    assert.equal(token.status, 404);
    const jwks = (await (await fetch(`${app.issuer}/.well-known/jwks.json`)).json()) as {
      keys: unknown[];
    };
    assert.deepEqual(jwks.keys, []);
  });
});
