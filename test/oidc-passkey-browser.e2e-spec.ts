import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { addVirtualAuthenticator, launchChromium, WITHOUT_CHROMIUM } from './helpers/chromium';
import { createUser } from './helpers/factories';
import { claimsOf } from './helpers/mfa-login';
import {
  discover,
  insertClient,
  type OidcApp,
  type RegisteredClient,
  startOidcApp,
} from './helpers/oidc';
import { type PasskeyPage, servePasskeyPage } from './helpers/passkey-page';

const WAIT_MS = 15_000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

// SPEC §10 with §9: a user whose second factor is a passkey finishes the code flow's sign-in
// page with it, in Chromium with a virtual authenticator, under the page's CSP.
describe(
  'OpenID Provider: a passkey as second factor on the sign-in page',
  { skip: WITHOUT_CHROMIUM },
  () => {
    let site: PasskeyPage;
    let app: OidcApp;
    let client: RegisteredClient;
    let browser: Browser;
    let relyingParty: Server;
    let redirectUri: string;

    before(async () => {
      // The relying party's redirect URI: a page that only says the browser got back.
      relyingParty = createServer((_request, response) => response.end('back'));
      await new Promise<void>((resolve) => relyingParty.listen(0, '127.0.0.1', resolve));
      redirectUri = `http://127.0.0.1:${(relyingParty.address() as AddressInfo).port}/callback`;
      site = await servePasskeyPage();
      app = await startOidcApp(
        (issuer) => ({
          CORS_ORIGINS: site.origin,
          WEBAUTHN_RP_ID: 'localhost',
          WEBAUTHN_ORIGINS: `${site.origin},${issuer}`,
        }),
        'localhost',
      );
      client = await insertClient(app.t, { redirectUris: [redirectUri] });
      browser = await launchChromium(WAIT_MS);
    });
    after(async () => {
      await browser?.close();
      await app?.t.close();
      await site?.close();
      await new Promise((resolve) => relyingParty?.close(resolve));
    });

    it('signs in with the password, then the passkey; the API token says so', async () => {
      const user = await createUser(app.t);
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        // A refused request is reported below with its address.
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
          problems.push(message.text());
        }
      });
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
      });
      await addVirtualAuthenticator(page);

      // The passkey, registered as a web client of the API would.
      await page.goto(`${site.origin}/?api=${encodeURIComponent(app.issuer)}`);
      const registered = await page.evaluate(
        async ([username, password]) => {
          const api = globalThis as unknown as {
            call: (m: string, p: string, b?: unknown, k?: string) => Promise<Answer>;
            registerPasskey: (k: string, p: string) => Promise<Answer>;
          };
          const login = await api.call('POST', '/auth/login', { username, password });
          return api.registerPasskey(String(login.body.access_token), password);
        },
        [user.username, user.password] as const,
      );
      assert.equal(registered.status, 201, JSON.stringify(registered.body));

      // The code flow.
      const config = await discover(app, client);
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid',
        resource: app.api,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      await page.goto(url.href);
      await page.fill('#username', user.username);
      await page.fill('#password', user.password);
      await page.click('button[type="submit"]:has-text("Sign in")');
      await page.waitForSelector('#use-passkey:visible', { timeout: WAIT_MS });
      await page.click('#use-passkey');
      await page.waitForURL((target) => target.href.startsWith(redirectUri), { timeout: WAIT_MS });

      const tokens = await oidc.authorizationCodeGrant(
        config,
        new URL(page.url()),
        { pkceCodeVerifier: verifier },
        { resource: app.api },
      );
      const amr = claimsOf(tokens.access_token).amr as string[];
      assert.ok(amr.includes('pwd') && amr.includes('mfa') && amr.length === 3, amr.join(','));
      await app.t
        .http()
        .get('/api/v1/users/me')
        .set('authorization', `Bearer ${tokens.access_token}`)
        .expect(200);
      assert.deepEqual(problems, []);
    });
  },
);
