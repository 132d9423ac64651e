import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { RoleName } from '../src/access/role-name';
import { Session } from '../src/sessions/session.entity';
import { createUser, type CreatedUser, loginToken } from './helpers/factories';
import { enrolTotp, totpCode } from './helpers/mfa';
import { claimsOf, events } from './helpers/mfa-login';
import {
  authorizationUrl as codeFlowUrl,
  clientCredentials,
  discover,
  FormBrowser,
  hiddenValue,
  insertClient,
  insertPartnerClient,
  insertServiceClient,
  type OidcApp,
  type RegisteredClient,
  startOidcApp,
} from './helpers/oidc';

const REDIRECT = 'http://127.0.0.1:5997/callback';
const LOGGED_OUT = 'http://127.0.0.1:5997/bye';

type Tokens = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

/** The authorization URL of these tests' app (scope `openid profile offline_access`). */
function authorizationUrl(
  config: oidc.Configuration,
  params: Record<string, string> = {},
): Promise<{ url: string; verifier: string }> {
  return codeFlowUrl(config, REDIRECT, 'openid profile offline_access', params);
}

async function redeem(
  config: oidc.Configuration,
  back: string,
  verifier: string,
  resource?: string,
): Promise<Tokens> {
  return oidc.authorizationCodeGrant(
    config,
    new URL(back),
    { pkceCodeVerifier: verifier },
    resource === undefined ? undefined : { resource },
  );
}

/** The code flow for the API (resource indicator), signing in on the pages. */
async function signIn(
  app: OidcApp,
  config: oidc.Configuration,
  user: CreatedUser & { code?: () => Promise<string> },
  browser = new FormBrowser(),
): Promise<Tokens> {
  const { url, verifier } = await authorizationUrl(config, { resource: app.api });
  const back = await browser.signIn(url, REDIRECT, user);
  assert.ok(back.url.startsWith(REDIRECT), `not back at the app: ${back.status} ${back.html}`);
  return redeem(config, back.url, verifier, app.api);
}

function me(app: OidcApp, token: string): Promise<{ status: number }> {
  return app.t.http().get('/api/v1/users/me').set('authorization', `Bearer ${token}`);
}

describe('OpenID Provider: one identity, one revocation model', () => {
  let app: OidcApp;
  let spa: RegisteredClient;
  let web: RegisteredClient;

  before(async () => {
    app = await startOidcApp({ LOCKOUT_THRESHOLD: '3' });
    spa = await insertClient(app.t, {
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [LOGGED_OUT],
    });
    web = await insertClient(app.t, {
      redirectUris: [REDIRECT],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
  });
  after(() => app.t.close());

  it('a second authorization in the same browser signs in without the form (SSO)', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    await signIn(app, config, user, browser);
    const { url } = await authorizationUrl(config);
    const again = await browser.follow(url, REDIRECT);
    assert.ok(new URL(again.url).searchParams.get('code'), 'no code without the form');
  });

  it('signing in again in the same browser replaces the earlier session', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    const first = await signIn(app, config, user, browser);
    const { url, verifier } = await authorizationUrl(config, {
      resource: app.api,
      prompt: 'login',
    });
    const back = await browser.signIn(url, REDIRECT, user);
    const second = await redeem(config, back.url, verifier, app.api);
    assert.equal((await me(app, second.access_token)).status, 200);
    assert.equal((await me(app, first.access_token)).status, 401);
    const replaced = await app.t.dataSource
      .getRepository(Session)
      .findOneByOrFail({ id: String(claimsOf(first.access_token).sid) });
    assert.equal(replaced.revokeReason, 'replaced');
  });

  it('after POST /auth/logout the browser must sign in again', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    const tokens = await signIn(app, config, user, browser);
    await app.t
      .http()
      .post('/api/v1/auth/logout')
      .set('authorization', `Bearer ${tokens.access_token}`)
      .expect(204);
    const { url } = await authorizationUrl(config);
    const again = await browser.follow(url, REDIRECT);
    assert.equal(again.status, 200);
    assert.match(again.html, /name="password"/);
  });

  it('RP-initiated logout ends our session: API token, refresh token and SSO die', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    const tokens = await signIn(app, config, user, browser);
    assert.equal((await me(app, tokens.access_token)).status, 200);
    const endUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: LOGGED_OUT,
    });
    const question = await browser.follow(endUrl.href, LOGGED_OUT);
    assert.equal(question.status, 200);
    assert.match(question.html, /Sign out\?/);
    const done = await browser.submit(
      question.url,
      question.html,
      { xsrf: hiddenValue(question.html, 'xsrf') ?? '', logout: 'yes' },
      LOGGED_OUT,
      /id="op.logoutForm" method="post" action="([^"]+)"/.exec(question.html)?.[1],
    );
    assert.ok(done.url.startsWith(LOGGED_OUT), `not back at the app: ${done.status} ${done.html}`);
    assert.equal((await me(app, tokens.access_token)).status, 401);
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
    const session = await app.t.dataSource
      .getRepository(Session)
      .findOneByOrFail({ id: String(claimsOf(tokens.access_token).sid) });
    assert.equal(session.revokeReason, 'logout');
    const { url } = await authorizationUrl(config);
    assert.match((await browser.follow(url, REDIRECT)).html, /name="password"/);
  });

  it('"Stay signed in" at RP-initiated logout signs out of that app only', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    const tokens = await signIn(app, config, user, browser);
    const endUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: LOGGED_OUT,
    });
    const question = await browser.follow(endUrl.href, LOGGED_OUT);
    const done = await browser.submit(
      question.url,
      question.html,
      {},
      LOGGED_OUT,
      /id="op.logoutForm" method="post" action="([^"]+)"/.exec(question.html)?.[1],
    );
    assert.ok(done.url.startsWith(LOGGED_OUT), `not back at the app: ${done.status} ${done.html}`);
    // The app's grant is gone with its refresh token...
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
    // ...but the sign-in lives on: our session, and single sign-on for another app.
    const session = await app.t.dataSource
      .getRepository(Session)
      .findOneByOrFail({ id: String(claimsOf(tokens.access_token).sid) });
    assert.equal(session.revokedAt, null);
    const other = await discover(app, web);
    const { url } = await authorizationUrl(other);
    const again = await browser.follow(url, REDIRECT);
    assert.ok(new URL(again.url).searchParams.get('code'), `asked again: ${again.status}`);
  });

  it('a password change and a deactivation end the app tokens too', async () => {
    const config = await discover(app, spa);
    const changer = await createUser(app.t);
    const changed = await signIn(app, config, changer);
    const direct = await loginToken(app.t, changer.username);
    await app.t
      .http()
      .post('/api/v1/users/me/password')
      .set('authorization', `Bearer ${direct}`)
      .send({ currentPassword: changer.password, newPassword: 'another-long-passphrase-9' })
      .expect(200);
    assert.equal((await me(app, changed.access_token)).status, 401);
    await assert.rejects(oidc.refreshTokenGrant(config, changed.refresh_token ?? ''), {
      error: 'invalid_grant',
    });

    const admin = await createUser(app.t, { roles: [RoleName.Admin] });
    const adminToken = await loginToken(app.t, admin.username);
    const leaver = await createUser(app.t);
    const left = await signIn(app, config, leaver);
    await app.t
      .http()
      .patch(`/api/v1/users/${leaver.user.id}`)
      .set('authorization', `Bearer ${adminToken}`)
      .send({ isActive: false })
      .expect(200);
    assert.equal((await me(app, left.access_token)).status, 401);
    await assert.rejects(oidc.refreshTokenGrant(config, left.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
  });

  it('introspection says active until the session ends; revocation kills a refresh token', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, web);
    const { url, verifier } = await authorizationUrl(config);
    const back = await new FormBrowser().signIn(url, REDIRECT, user);
    const tokens = await redeem(config, back.url, verifier);
    const live = await oidc.tokenIntrospection(config, tokens.access_token);
    assert.equal(live.active, true);
    assert.equal(live.sub, user.user.id);
    assert.equal(live.client_id, web.clientId);

    await oidc.tokenRevocation(config, tokens.refresh_token ?? '');
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
    const revoked = await oidc.tokenIntrospection(config, tokens.access_token);
    assert.equal(revoked.active, false);
  });

  it("a client can't revoke another client's token", async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const tokens = await signIn(app, config, user);
    const answer = await fetch(`${app.issuer}/oidc/token/revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret ?? ''}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: tokens.refresh_token ?? '' }),
    });
    assert.equal(answer.status, 400);
    assert.equal(((await answer.json()) as { error?: string }).error, 'invalid_request');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '');
    assert.ok(refreshed.access_token);
  });

  it('a public client may not introspect, even its own live token', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const { url, verifier } = await authorizationUrl(config);
    const back = await new FormBrowser().signIn(url, REDIRECT, user);
    const tokens = await redeem(config, back.url, verifier);
    const answer = await fetch(`${app.issuer}/oidc/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, client_id: spa.clientId }),
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { active: false });
    // The token itself is live: a confidential client is told so.
    const live = await oidc.tokenIntrospection(await discover(app, web), tokens.access_token);
    assert.equal(live.active, true);
  });

  it('a service signs in with client credentials (simple-oauth2); its token is no user token', async () => {
    const service = await insertServiceClient(app.t);
    const oauth = clientCredentials(app, service);
    const token = await oauth.getToken({});
    const accessToken = String(token.token.access_token);
    assert.equal(token.token.token_type, 'Bearer');
    const config = await discover(app, web);
    const introspected = await oidc.tokenIntrospection(config, accessToken);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, service.clientId);
    assert.equal((await me(app, accessToken)).status, 401);

    const wrong = clientCredentials(app, service, 'not-the-secret');
    await assert.rejects(wrong.getToken({}), (error: { output?: { statusCode?: number } }) => {
      assert.equal(error.output?.statusCode, 401);
      return true;
    });
  });

  it("another party's app asks for consent; Allow is audited, Deny is access_denied", async () => {
    const user = await createUser(app.t);
    const partner = await insertPartnerClient(app.t, REDIRECT);
    const config = await discover(app, partner);
    const browser = new FormBrowser();
    const { url: denyUrl } = await authorizationUrl(config, { state: 'deny' });
    const asked = await browser.signIn(denyUrl, REDIRECT, user);
    assert.equal(asked.status, 200);
    assert.match(asked.html, /Allow Partner app\?/);
    assert.match(asked.html, /See your username/);
    const denied = await browser.submit(
      asked.url,
      asked.html,
      {},
      REDIRECT,
      asked.html.match(/action="([^"]+\/abort)"/)?.[1],
    );
    assert.equal(new URL(denied.url).searchParams.get('error'), 'access_denied');

    const { url, verifier } = await authorizationUrl(config, { state: 'allow' });
    const again = await browser.follow(url, REDIRECT);
    assert.match(again.html, /Allow Partner app\?/);
    const allowed = await browser.submit(again.url, again.html, {}, REDIRECT);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(allowed.url), {
      pkceCodeVerifier: verifier,
      expectedState: 'allow',
    });
    assert.equal(tokens.claims()?.sub, user.user.id);
    const [consent] = await events(app.t, 'oidc.consent_granted', user.user.id);
    assert.equal(consent?.details.clientId, partner.clientId);
  });

  it('a user with a second factor gives its code on the page; the token says so', async () => {
    const user = await createUser(app.t);
    const { secret } = await enrolTotp(app.t, { id: user.user.id, email: user.email });
    // enrolTotp moved the test clock a period on; the provider stamps tokens with the real
    // time (Date.now()), and a second factor proven after a token's iat would be refused. Back
    // to now, and the next period's code (within the verifier's window, not the enrolment's).
    app.t.clock.set(new Date());
    const config = await discover(app, spa);
    const { url, verifier } = await authorizationUrl(config, { resource: app.api });
    const browser = new FormBrowser();
    const login = await browser.follow(url, REDIRECT);
    const second = await browser.submit(
      login.url,
      login.html,
      { username: user.username, password: user.password },
      REDIRECT,
    );
    assert.equal(second.status, 200);
    assert.match(second.html, /Confirm it is you/);
    const wrong = await browser.submit(
      second.url,
      second.html,
      { mfa_token: hiddenValue(second.html, 'mfa_token') ?? '', method: 'totp', code: '000000' },
      REDIRECT,
    );
    assert.equal(wrong.status, 401);
    assert.match(wrong.html, /Code from my authenticator app/);
    const back = await browser.submit(
      wrong.url,
      wrong.html,
      // The page's own mfa_token and offered factors travel with the form.
      { method: 'totp', code: await totpCode(app.t, secret, 1) },
      REDIRECT,
    );
    const tokens = await redeem(config, back.url, verifier, app.api);
    assert.deepEqual(claimsOf(tokens.access_token).amr, ['pwd', 'otp', 'mfa']);
    assert.equal((await me(app, tokens.access_token)).status, 200);
  });

  it('wrong passwords on the page count toward the same lockout as /auth/login', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    const { url } = await authorizationUrl(config);
    let page = await browser.follow(url, REDIRECT);
    for (let attempt = 0; attempt < 3; attempt++) {
      page = await browser.submit(
        page.url,
        page.html,
        { username: user.username, password: 'wrong-password-123' },
        REDIRECT,
      );
      assert.equal(page.status, 401);
      assert.match(page.html, /username or password is wrong/);
    }
    await app.t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: user.password })
      .expect(401);
  });
});
