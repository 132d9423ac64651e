import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, WITHOUT_CHROMIUM } from './helpers/chromium';
import { createUser, type CreatedUser } from './helpers/factories';
import { insertClient, type OidcApp, startOidcApp } from './helpers/oidc';
import { serveSpa, type SpaPage } from './helpers/spa-page';

const WAIT_MS = 15_000;

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}
interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token: string;
}
/** The SPA's `window.spa`, for a test that replays tokens it kept. */
interface SpaApi {
  tokens(): Tokens | null;
  callApi(method: string, path: string, accessToken: string): Promise<Answer>;
  refresh(refreshToken: string): Promise<Answer<Tokens & { error?: string }>>;
}

// SPEC §10 in a real browser: a single-page app on another origin signs a user in through the
// code flow with PKCE, calls the API with the access token it got, and signs out; whatever it
// held dies with the session, and the provider asks for the password again.
describe('OpenID Provider: a single-page app in Chromium', { skip: WITHOUT_CHROMIUM }, () => {
  let spa: SpaPage;
  let app: OidcApp;
  let browser: Browser;

  before(async () => {
    spa = await serveSpa();
    app = await startOidcApp({ CORS_ORIGINS: spa.origin });
    const client = await insertClient(app.t, {
      redirectUris: [spa.redirectUri],
      postLogoutRedirectUris: [spa.postLogoutRedirectUri],
      name: 'Test SPA',
    });
    spa.configure({ issuer: app.issuer, clientId: client.clientId, api: app.api });
    browser = await launchChromium(WAIT_MS);
  });
  after(async () => {
    await browser?.close();
    await app?.t.close();
    await spa?.close();
  });

  /** A fresh browser (own cookies and storage) with the SPA open, not signed in. */
  async function openSpa(): Promise<{
    page: Page;
    problems: string[];
    refused: string[];
    visited: string[];
  }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      // Answers of 400 and more are in `refused`, with their URLs (favicons aside).
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(message.text());
      }
    });
    const refused: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) {
        refused.push(`${response.status()} ${response.request().method()} ${response.url()}`);
      }
    });
    // Pages the browser showed (redirects that answered 3xx are not among them).
    const visited: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) visited.push(frame.url());
    });
    await page.goto(spa.origin);
    await settled(page, 'signed-out');
    return { page, problems, refused, visited };
  }

  /**
   * Waits until the SPA has finished what it was doing, through any navigation (the SPA's
   * pages drop the code or state from the address at once, so a transient URL is no sign),
   * and checks where it ended.
   */
  async function settled(page: Page, expected: string): Promise<void> {
    await page.waitForSelector('body[data-state]:not([data-state="loading"])');
    const state = await page.getAttribute('body', 'data-state');
    const status = await page.textContent('#status');
    assert.equal(state, expected, `the SPA says: ${status}`);
  }

  /** The SPA's own sign-in button, which leads to the provider's sign-in form. */
  async function startSignIn(page: Page): Promise<void> {
    await page.click('#sign-in');
    await page.waitForURL((url) => url.pathname.startsWith('/oidc/interaction/'));
    assert.equal(new URL(page.url()).origin, app.issuer);
  }

  /** Fills the provider's sign-in form as the user would, and waits to be back in the SPA. */
  async function fillSignInForm(page: Page, user: CreatedUser): Promise<void> {
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await settled(page, 'signed-in');
  }

  const tokensOf = async (page: Page): Promise<Tokens> => {
    const tokens = await page.evaluate(() =>
      (globalThis as unknown as { spa: SpaApi }).spa.tokens(),
    );
    assert.ok(tokens, 'the SPA keeps its tokens');
    return tokens;
  };
  const me = (page: Page, accessToken: string) =>
    page.evaluate(
      (token) => (globalThis as unknown as { spa: SpaApi }).spa.callApi('GET', '/users/me', token),
      accessToken,
    );
  const refresh = (page: Page, refreshToken: string) =>
    page.evaluate(
      (token) => (globalThis as unknown as { spa: SpaApi }).spa.refresh(token),
      refreshToken,
    );

  /** What every test checks once the user is out: nothing the SPA held works any more. */
  async function assertSignedOut(page: Page, tokens: Tokens): Promise<void> {
    assert.equal((await me(page, tokens.access_token)).status, 401);
    const refused = await refresh(page, tokens.refresh_token);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');
    // Signing in again asks for the password: the provider's session ended with ours.
    await startSignIn(page);
    assert.equal(await page.textContent('h1'), 'Sign in');
    assert.equal(await page.inputValue('#username'), '');
  }

  it('signs in with the code flow and PKCE, calls the API, and signs out at the API', async () => {
    const user = await createUser(app.t);
    const { page, problems, refused, visited } = await openSpa();

    await startSignIn(page);
    await fillSignInForm(page, user);
    assert.equal(await page.textContent('#username'), user.username);
    // The code left the address bar once it was spent.
    assert.equal(page.url(), `${spa.origin}/`);
    const first = await tokensOf(page);
    const answer = await me(page, first.access_token);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.username, user.username);

    // Refresh works from the page while the user is signed in (and rotates).
    const refreshed = await refresh(page, first.refresh_token);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.notEqual(refreshed.body.refresh_token, first.refresh_token);
    assert.equal((await me(page, refreshed.body.access_token)).status, 200);

    // Signed in at the provider: a second sign-in goes straight back, without the form.
    visited.length = 0;
    await page.click('#sign-in');
    await settled(page, 'signed-in');
    assert.ok(
      visited.some((url) => url.startsWith(`${spa.redirectUri}?code=`)),
      visited.join(' '),
    );
    assert.deepEqual(
      visited.filter((url) => url.startsWith(app.issuer)),
      [],
      'no provider page was shown',
    );
    const second = await tokensOf(page);
    assert.notEqual(second.access_token, refreshed.body.access_token);

    await page.click('#sign-out');
    await settled(page, 'signed-out');
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { spa: SpaApi }).spa.tokens()),
      null,
    );

    // Every access token of that sign-in dies with it, the refreshed one too.
    for (const accessToken of [second.access_token, refreshed.body.access_token]) {
      assert.equal((await me(page, accessToken)).status, 401);
    }
    await assertSignedOut(page, second);
    // The browser met no refusal but those asked for above.
    assert.deepEqual(refused, [
      ...Array<string>(3).fill(`401 GET ${app.api}/users/me`),
      `400 POST ${app.issuer}/oidc/token`,
    ]);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('signs out at the provider (RP-initiated logout, confirmed by the user)', async () => {
    const user = await createUser(app.t);
    const { page, problems, refused, visited } = await openSpa();
    await startSignIn(page);
    await fillSignInForm(page, user);
    const tokens = await tokensOf(page);

    await page.click('#sign-out-everywhere');
    await page.waitForURL((url) => url.href.startsWith(`${app.issuer}/oidc/session/end`));
    assert.equal(await page.textContent('h1'), 'Sign out?');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    // Back at the SPA's post-logout page, with the state it sent (it checks it).
    await settled(page, 'signed-out');
    assert.ok(
      visited.some((url) => url.startsWith(`${spa.postLogoutRedirectUri}?state=`)),
      visited.join(' '),
    );

    await assertSignedOut(page, tokens);
    assert.deepEqual(refused, [`401 GET ${app.api}/users/me`, `400 POST ${app.issuer}/oidc/token`]);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
});
