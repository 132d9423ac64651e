import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createUser } from './helpers/factories';
import { launchChromium, WITHOUT_CHROMIUM } from './helpers/chromium';
import { createTestApp, TestApp } from './helpers/test-app';

interface StoredAuthorization {
  oauth2?: {
    username?: string;
    password?: string;
    token?: { access_token?: string; refresh_token?: string };
  };
}

describe('Swagger UI keeps and renews the authorization', { skip: WITHOUT_CHROMIUM }, () => {
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  before(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = (t.app.getHttpServer() as { address(): AddressInfo }).address();
    origin = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    await t.close();
  });

  const stored = async (page: Page): Promise<StoredAuthorization> =>
    JSON.parse(
      (await page.evaluate("localStorage.getItem('authorized')")) ?? '{}',
    ) as StoredAuthorization;

  /**
   * "Execute" on GET /users/me, until Swagger UI shows `status` (the renewal takes a token
   * request and a second call after the first answer); the text of the response it shows.
   */
  async function executeMe(page: Page, status: number): Promise<string> {
    const operation = page.locator('#operations-users-getCurrentUser');
    const responses = operation.locator('.responses-table.live-responses-table');
    const execute = operation.getByRole('button', { name: 'Execute' });
    if (!(await operation.locator('.opblock-body').isVisible())) {
      await operation.locator('.opblock-summary').click();
    }
    // After a reload Swagger UI may still be restoring the expanded operation: a click made
    // meanwhile can fold it again, so unfold it once more if Execute does not show.
    try {
      await execute.waitFor({ state: 'visible', timeout: 5_000 });
    } catch {
      await operation.locator('.opblock-summary').click();
    }
    const clear = operation.getByRole('button', { name: 'Clear' });
    if (await clear.isVisible()) await clear.click();
    await execute.click();
    try {
      await responses
        .locator('.response-col_status', { hasText: String(status) })
        .first()
        .waitFor({ timeout: 10_000 });
    } catch {
      assert.fail(`expected ${status}, Swagger UI shows: ${await responses.innerText()}`);
    }
    return responses.innerText();
  }

  it('logs in through "Authorize", calls a protected route, and renews the expired token by itself', async () => {
    const user = await createUser(t);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      // The 401 of the expired token is logged by Chromium as a failed resource.
      if (message.type() === 'error' && !/status of 401/.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    const tokenRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/api/v1/auth/token')) {
        tokenRequests.push(new URLSearchParams(request.postData() ?? '').get('grant_type') ?? '');
      }
    });

    await page.goto(`${origin}/docs`);
    await page.waitForSelector('#operations-users-getCurrentUser', { timeout: 15_000 });

    // Log in once, with the OAuth2 password flow.
    await page.locator('.auth-wrapper .authorize').click();
    await page.locator('#oauth_username').fill(user.username);
    await page.locator('#oauth_password').fill(user.password);
    await page
      .locator('.auth-container', { has: page.locator('#oauth_username') })
      .locator('button.authorize')
      .click();
    await page.getByRole('button', { name: 'Logout' }).first().waitFor();
    await page.locator('.dialog-ux .close-modal').click();

    assert.match(await executeMe(page, 200), new RegExp(user.username));
    const before = await stored(page);
    assert.equal(typeof before.oauth2?.token?.access_token, 'string');
    assert.equal(typeof before.oauth2?.token?.refresh_token, 'string');
    // persistAuthorization keeps the tokens in localStorage, never the password.
    assert.equal(before.oauth2?.password, undefined);
    assert.doesNotMatch(JSON.stringify(before), new RegExp(user.password));

    // The access token expires; the refresh token (idle for 15 minutes) still works.
    t.clock.advance(t.config.jwt.accessTokenTtlSeconds + 1);
    assert.match(await executeMe(page, 200), new RegExp(user.username));
    assert.deepEqual(tokenRequests, ['password', 'refresh_token']);
    const after = await stored(page);
    assert.notEqual(after.oauth2?.token?.access_token, before.oauth2?.token?.access_token);
    assert.notEqual(after.oauth2?.token?.refresh_token, before.oauth2?.token?.refresh_token);

    // A reload keeps the (renewed) authorization: no new login.
    await page.reload();
    await page.waitForSelector('#operations-users-getCurrentUser', { timeout: 15_000 });
    await executeMe(page, 200);
    assert.deepEqual(tokenRequests, ['password', 'refresh_token']);

    // Once the session is over, the 401 stays and the dialog says why.
    const revoked = await t
      .http()
      .post('/api/v1/auth/logout-all')
      .set('Authorization', `Bearer ${after.oauth2?.token?.access_token ?? ''}`);
    assert.equal(revoked.status, 204);
    await executeMe(page, 401);
    await page.locator('.auth-wrapper .authorize').click();
    await page
      .locator('.dialog-ux')
      .getByText('The session has ended: log in again with "Authorize"')
      .waitFor();
    assert.deepEqual(tokenRequests, ['password', 'refresh_token', 'refresh_token']);

    assert.deepEqual(problems, []);
    await page.close();
  });
});
