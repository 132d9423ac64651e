import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { Transactions } from '../src/database/database';
import { Session } from '../src/sessions/session.entity';
import { OidcClientsRepository } from '../src/oidc/clients/oidc-clients.repository';
import { createUser } from './helpers/factories';
import {
  authorizationUrl as codeFlowUrl,
  clientCredentials,
  discover,
  FormBrowser,
  insertClient,
  insertPartnerClient,
  insertServiceClient,
  type OidcApp,
  type PageAnswer,
  type RegisteredClient,
  startOidcApp,
} from './helpers/oidc';

const REDIRECT = 'http://127.0.0.1:5996/callback';

/** The authorization URL of these tests' app (scope `openid profile`). */
function authorizationUrl(
  config: oidc.Configuration,
  params: Record<string, string> = {},
): Promise<{ url: string; verifier: string }> {
  return codeFlowUrl(config, REDIRECT, 'openid profile', params);
}

/** Whether the page's CSP lets its one inline script (oidc-provider's auto-submit) run. */
function inlineScriptAllowed(page: PageAnswer): boolean {
  const script = /<script>([\s\S]*?)<\/script>/.exec(page.html)?.[1];
  assert.ok(script !== undefined, `no inline script in:\n${page.html}`);
  const digest = createHash('sha256').update(script).digest('base64');
  const policy = page.headers.get('content-security-policy') ?? '';
  const scriptSrc = policy
    .split(';')
    .map((directive) => directive.trim().split(/\s+/))
    .find(([name]) => name === 'script-src');
  return scriptSrc?.includes(`'sha256-${digest}'`) ?? false;
}

async function deleteClient(app: OidcApp, clientId: string): Promise<void> {
  await app.t.app
    .get(Transactions)
    .run((tx) => app.t.app.get(OidcClientsRepository).delete(tx, clientId));
}

describe('OpenID Provider: hardening', () => {
  let app: OidcApp;
  let spa: RegisteredClient;
  let resourceServer: RegisteredClient;

  before(async () => {
    app = await startOidcApp();
    spa = await insertClient(app.t, { redirectUris: [REDIRECT] });
    resourceServer = await insertServiceClient(app.t);
  });
  after(() => app.t.close());

  it('response_mode=form_post: the auto-submitting page may run its script (CSP hash)', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const { url } = await authorizationUrl(config, { response_mode: 'form_post' });
    const page = await new FormBrowser().signIn(url, REDIRECT, user);
    assert.equal(page.status, 200);
    assert.match(page.html, new RegExp(`action="${REDIRECT}"`));
    assert.match(page.html, /name="code"/);
    assert.ok(inlineScriptAllowed(page), page.headers.get('content-security-policy') ?? '');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });

  it('prompt=login with a consent to give: one sign-in, then the consent, then the app', async () => {
    const partner = await insertPartnerClient(app.t, REDIRECT);
    const config = await discover(app, partner);
    const user = await createUser(app.t);
    const browser = new FormBrowser();
    const { url, verifier } = await authorizationUrl(config, { prompt: 'login' });
    const asked = await browser.signIn(url, REDIRECT, user);
    assert.match(asked.html, /Allow Partner app\?/);
    const allowed = await browser.submit(asked.url, asked.html, {}, REDIRECT);
    assert.ok(
      allowed.url.startsWith(REDIRECT),
      `not back at the app: ${allowed.status} ${allowed.html}`,
    );
    const tokens = await oidc.authorizationCodeGrant(config, new URL(allowed.url), {
      pkceCodeVerifier: verifier,
    });
    assert.equal(tokens.claims()?.sub, user.user.id);
  });

  it('signing in as another user in a signed-in browser (prompt=login) reaches the app', async () => {
    const first = await createUser(app.t);
    const second = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    const { url } = await authorizationUrl(config);
    await browser.signIn(url, REDIRECT, first);
    const { url: again, verifier } = await authorizationUrl(config, { prompt: 'login' });
    // The provider signs the first user out with an auto-submitting form, then goes on.
    const switching = await browser.signIn(again, REDIRECT, second);
    assert.equal(switching.status, 200);
    assert.ok(
      inlineScriptAllowed(switching),
      switching.headers.get('content-security-policy') ?? '',
    );
    const back = await browser.submit(switching.url, switching.html, {}, REDIRECT);
    assert.ok(back.url.startsWith(REDIRECT), `not back at the app: ${back.status} ${back.html}`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.url), {
      pkceCodeVerifier: verifier,
    });
    assert.equal(tokens.claims()?.sub, second.user.id);
  });

  it('a rotated refresh token presented again ends the session after the grace window, as ours do', async () => {
    const user = await createUser(app.t);
    const config = await discover(app, spa);
    const browser = new FormBrowser();
    const { url, verifier } = await authorizationUrl(config, {
      scope: 'openid profile offline_access',
    });
    const back = await browser.signIn(url, REDIRECT, user);
    const first = await oidc.authorizationCodeGrant(config, new URL(back.url), {
      pkceCodeVerifier: verifier,
    });
    const second = await oidc.refreshTokenGrant(config, first.refresh_token ?? '');
    // Within the grace window (another tab was faster): refused, the session lives.
    await assert.rejects(oidc.refreshTokenGrant(config, first.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
    const third = await oidc.refreshTokenGrant(config, second.refresh_token ?? '');
    assert.ok(third.refresh_token);
    // After it, a copy is in somebody else's hands: the session ends with all it issued.
    app.t.clock.advance(11);
    // Presented twice at once: the session ends once, with one audit event.
    await Promise.all(
      [1, 2].map(() =>
        assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token ?? ''), {
          error: 'invalid_grant',
        }),
      ),
    );
    await assert.rejects(oidc.refreshTokenGrant(config, third.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
    const session = await app.t.dataSource
      .getRepository(Session)
      .findOneByOrFail({ userId: user.user.id });
    assert.equal(session.revokeReason, 'refresh_token_reuse');
    const events = await app.t.dataSource
      .getRepository(AuditEvent)
      .findBy({ type: 'session.refresh_token_reused', subjectUserId: user.user.id });
    assert.equal(events.length, 1);
    assert.deepEqual(JSON.parse(events[0]?.details ?? '{}'), {
      sessionId: session.id,
      via: 'oidc',
      clientId: spa.clientId,
    });
    // The signed-in browser has to sign in again.
    const { url: again } = await authorizationUrl(config);
    const page = await browser.follow(again, REDIRECT);
    assert.equal(page.status, 200);
    assert.match(page.html, /name="password"/);
  });

  it("a deleted client's tokens are inactive at introspection, never a server error", async () => {
    const service = await insertServiceClient(app.t);
    const oauth = clientCredentials(app, service);
    const serviceToken = String((await oauth.getToken({})).token.access_token);

    const app2 = await insertClient(app.t, { redirectUris: [REDIRECT] });
    const config = await discover(app, app2);
    const { url, verifier } = await authorizationUrl(config);
    const back = await new FormBrowser().signIn(url, REDIRECT, await createUser(app.t));
    const userTokens = await oidc.authorizationCodeGrant(config, new URL(back.url), {
      pkceCodeVerifier: verifier,
    });

    const introspector = await discover(app, resourceServer);
    assert.equal((await oidc.tokenIntrospection(introspector, serviceToken)).active, true);
    assert.equal(
      (await oidc.tokenIntrospection(introspector, userTokens.access_token)).active,
      true,
    );

    await deleteClient(app, service.clientId);
    await deleteClient(app, app2.clientId);
    assert.deepEqual(
      { ...(await oidc.tokenIntrospection(introspector, serviceToken)) },
      { active: false },
    );
    assert.deepEqual(
      { ...(await oidc.tokenIntrospection(introspector, userTokens.access_token)) },
      { active: false },
    );
    assert.deepEqual(
      { ...(await oidc.tokenIntrospection(introspector, userTokens.refresh_token ?? '')) },
      { active: false },
    );
  });

  it('a NUL byte in a client id or token names nothing: no server error (PostgreSQL refuses NUL)', async () => {
    const basic = `Basic ${Buffer.from(`${resourceServer.clientId}:${resourceServer.clientSecret ?? ''}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const authorization = await fetch(
      `${app.issuer}/oidc/auth?client_id=a%00b&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`,
    );
    assert.equal(authorization.status, 400);
    const token = await fetch(`${app.issuer}/oidc/token`, {
      method: 'POST',
      headers: form,
      body: 'grant_type=client_credentials&client_id=a%00b&client_secret=x',
    });
    assert.equal(token.status, 401);
    const introspection = await fetch(`${app.issuer}/oidc/token/introspection`, {
      method: 'POST',
      headers: { ...form, authorization: basic },
      body: 'token=abc%00def',
    });
    assert.equal(introspection.status, 200);
    assert.deepEqual(await introspection.json(), { active: false });
  });

  it('a NUL byte in the sign-in form is a 400 page, not a server error', async () => {
    const config = await discover(app, spa);
    const { url } = await authorizationUrl(config);
    const browser = new FormBrowser();
    const login = await browser.follow(url, REDIRECT);
    const refused = await browser.submit(
      login.url,
      login.html,
      { username: 'someone\u0000else', password: 'whatever-it-is' },
      REDIRECT,
    );
    assert.equal(refused.status, 400);
    assert.match(refused.html, /This request could not be handled/);
  });

  it("another party's consent page says the app asks to use the API as the user", async () => {
    const partner = await insertPartnerClient(app.t, REDIRECT);
    const config = await discover(app, partner);
    const user = await createUser(app.t);
    const browser = new FormBrowser();
    const { url } = await authorizationUrl(config, { resource: app.api });
    const asked = await browser.signIn(url, REDIRECT, user);
    assert.equal(asked.status, 200);
    assert.match(asked.html, /Allow Partner app\?/);
    assert.match(
      asked.html,
      /<li>Use the .+ API as you, with your roles: everything you can do there<\/li>/,
    );

    // Without the resource the page does not say so, and the code gives no API token either.
    const { url: plain, verifier } = await authorizationUrl(config, { state: 'plain' });
    const page = await browser.follow(plain, REDIRECT);
    assert.doesNotMatch(page.html, /API/);
    const allowed = await browser.submit(page.url, page.html, {}, REDIRECT);
    await assert.rejects(
      oidc.authorizationCodeGrant(
        config,
        new URL(allowed.url),
        { pkceCodeVerifier: verifier, expectedState: 'plain' },
        { resource: app.api },
      ),
      { error: 'invalid_target' },
    );
  });
});
