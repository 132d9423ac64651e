import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type supertest from 'supertest';
import { buildOpenApiDocument } from '../src/swagger';
import {
  createUser,
  createUserWithToken,
  loginPair,
  loginToken,
  TEST_PASSWORD,
  uniqueUsername,
} from './helpers/factories';
import { linkIn, startSmtpServer, tokenIn, type TestSmtpServer } from './helpers/smtp-server';
import { launchChromium, WITHOUT_CHROMIUM } from './helpers/chromium';
import { createTestApp, type TestApp } from './helpers/test-app';

const VERIFY = '/account/verify-email';
const RESET = '/account/reset-password';
const CONFIRM = '/account/confirm-email-change';
const STRONG_PASSWORD = 'lantern orchard velvet 93';

/** The page's hidden token field, unescaped as a browser would post it. */
function formToken(html: string): string | undefined {
  const value = /<input type="hidden" name="token" value="([^"]*)">/.exec(html)?.[1];
  return value
    ?.replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** What every page answers with: HTML under its own CSP, never stored, no Referer. */
function assertPage(response: supertest.Response, status: number): string {
  assert.equal(response.status, status, response.text);
  assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(
    response.headers['content-security-policy'],
    "default-src 'none';style-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none'",
  );
  assert.equal(response.headers['cache-control'], 'no-store');
  assert.equal(response.headers['referrer-policy'], 'no-referrer');
  assert.equal(response.headers['x-content-type-options'], 'nosniff');
  const html = response.text;
  assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="en">'));
  assert.match(html, /<title>[^<]+ – Acme &amp; &lt;Co&gt;<\/title>/);
  assert.ok(html.includes('<link rel="stylesheet" href="style.css">'));
  assert.doesNotMatch(html, /<script|<style|\sstyle=|\son[a-z]+=/i);
  return html;
}

describe('account pages for mailed links (SPEC §8)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: {
        SMTP_URL: smtp.url,
        PUBLIC_URL: 'https://id.example.com',
        PRODUCT_NAME: 'Acme & <Co>',
        MAIL_POLL_INTERVAL_MS: '50',
      },
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const me = async (token: string) =>
    (await t.http().get('/api/v1/users/me').set(bearer(token)).expect(200)).body as {
      email: string;
      emailVerified: boolean;
    };
  /** The mailed link, requested on this app (PUBLIC_URL names its public address). */
  const open = (link: URL) => t.http().get(`${link.pathname}${link.search}`);
  const post = (path: string, form: Record<string, string>) =>
    t.http().post(path).type('form').send(form);

  it('verify-email: the link shows a one-button form that spends nothing; its POST verifies once', async () => {
    const username = uniqueUsername('pv');
    const email = `${username}@example.com`;
    await t
      .http()
      .post('/api/v1/auth/register')
      .send({ username, email, password: TEST_PASSWORD })
      .expect(201);
    const access = await loginToken(t, username);
    const link = linkIn(await smtp.waitForMailTo(email, /Verify/), VERIFY);
    assert.equal(link.origin, 'https://id.example.com');

    const page = assertPage(await open(link), 200);
    assert.ok(page.includes('<button type="submit">Verify my email</button>'));
    assert.ok(page.includes('<form method="post" action="verify-email">'));
    assert.equal(formToken(page), link.searchParams.get('token'));
    // A scanner's or a preview's GET (twice) changes nothing.
    assertPage(await open(link), 200);
    assert.equal((await me(access)).emailVerified, false);

    const done = assertPage(await post(VERIFY, { token: formToken(page) ?? '' }), 200);
    assert.match(done, /Your email address is verified/);
    assert.equal((await me(access)).emailVerified, true);

    const again = assertPage(await post(VERIFY, { token: formToken(page) ?? '' }), 400);
    assert.match(again, /This link is invalid or expired/);
    assert.match(again, /ask for a new verification email/);
  });

  it('reset-password: a refused password shows the form again with the reasons; a good one signs every session out', async () => {
    const user = await createUser(t);
    const session = await loginPair(t, user.username);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const mail = await smtp.waitForMailTo(user.email, /password/i);
    const token = tokenIn(mail, RESET);

    const page = assertPage(await open(linkIn(mail, RESET)), 200);
    assert.equal(formToken(page), token);
    assert.match(page, /<label for="new-password">New password<\/label>/);
    assert.match(page, /<label for="new-password-repeat">Repeat the new password<\/label>/);
    assert.equal(page.match(/autocomplete="new-password"/g)?.length, 2);
    assert.match(page, /Use 8 to 128 characters/);
    assert.match(page, /not be a commonly used password, nor your username or email address/);

    const common = assertPage(
      await post(RESET, { token, newPassword: 'password123', newPasswordRepeat: 'password123' }),
      400,
    );
    assert.match(common, /role="alert"/);
    assert.match(
      common,
      /<li>The password is too common; choose a less predictable password\.<\/li>/,
    );
    assert.match(common, /aria-invalid="true"/);
    assert.equal(formToken(common), token);
    const short = assertPage(
      await post(RESET, { token, newPassword: 'short', newPasswordRepeat: 'short' }),
      400,
    );
    assert.match(short, /<li>The password must be at least 8 characters long\.<\/li>/);
    const own = assertPage(
      await post(RESET, { token, newPassword: user.email, newPasswordRepeat: user.email }),
      400,
    );
    assert.match(own, /must not be the same as the username or email/);
    const different = assertPage(
      await post(RESET, {
        token,
        newPassword: STRONG_PASSWORD,
        newPasswordRepeat: `${STRONG_PASSWORD}!`,
      }),
      400,
    );
    assert.match(different, /The two passwords are not the same/);
    // None of this spent the token or changed the password.
    await loginToken(t, user.username);

    const done = assertPage(
      await post(RESET, {
        token,
        newPassword: STRONG_PASSWORD,
        newPasswordRepeat: STRONG_PASSWORD,
      }),
      200,
    );
    assert.match(done, /Every session of your account was signed out/);
    await t
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refresh_token: session.refresh_token })
      .expect(401);
    await t
      .http()
      .post('/api/v1/auth/login')
      .send({ username: user.username, password: TEST_PASSWORD })
      .expect(401);
    await loginToken(t, user.username, STRONG_PASSWORD);

    const again = assertPage(
      await post(RESET, {
        token,
        newPassword: STRONG_PASSWORD,
        newPasswordRepeat: STRONG_PASSWORD,
      }),
      400,
    );
    assert.match(again, /This link is invalid or expired/);
    assert.match(again, /Forgot password/);
  });

  it('confirm-email-change: the link shows a one-button form; its POST applies the change once', async () => {
    const user = await createUserWithToken(t);
    const newEmail = `page-${user.username}@example.org`;
    await t
      .http()
      .post('/api/v1/users/me/email')
      .set(bearer(user.token))
      .send({ newEmail, currentPassword: TEST_PASSWORD })
      .expect(202);
    const link = linkIn(await smtp.waitForMailTo(newEmail, /Confirm your new email/), CONFIRM);

    const page = assertPage(await open(link), 200);
    assert.ok(page.includes('<button type="submit">Confirm my new email</button>'));
    assertPage(await open(link), 200);
    assert.equal((await me(user.token)).email, user.email);

    const done = assertPage(await post(CONFIRM, { token: formToken(page) ?? '' }), 200);
    assert.match(done, /Your email address is changed/);
    const after = await me(user.token);
    assert.deepEqual([after.email, after.emailVerified], [newEmail, true]);

    assertPage(await post(CONFIRM, { token: formToken(page) ?? '' }), 400);
  });

  it('escapes what the link carries; a hostile token is just an invalid one', async () => {
    const hostile = '"><script>alert(1)</script><b x=\'';
    for (const path of [VERIFY, RESET, CONFIRM]) {
      const page = assertPage(await t.http().get(path).query({ token: hostile }), 200);
      assert.ok(
        page.includes('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;b x=&#39;"'),
      );
      assert.equal(formToken(page), hostile);
      const refused = assertPage(
        await post(path, {
          token: hostile,
          newPassword: STRONG_PASSWORD,
          newPasswordRepeat: STRONG_PASSWORD,
        }),
        400,
      );
      assert.match(refused, /This link is invalid or expired/);
    }
    // No token, or a repeated one: nothing to post.
    assert.match(assertPage(await t.http().get(VERIFY), 400), /invalid or expired/);
    assertPage(await t.http().get(`${RESET}?token=a&token=b`), 400);
  });

  it('lives outside /api/v1 and outside the OpenAPI document, with its own stylesheet', async () => {
    await t.http().get(`/api/v1${VERIFY}?token=x`).expect(404);
    const document = buildOpenApiDocument(t.app);
    assert.deepEqual(
      Object.keys(document.paths).filter((path) => path.includes('/account/')),
      [],
    );
    const css = await t.http().get('/account/style.css').expect(200);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.match(css.text, /font-family/);
    // JSON error bodies stay the API's: the pages' filter is theirs only.
    const api = await t
      .http()
      .post('/api/v1/auth/email/verify')
      .send({ token: 'x'.repeat(43) });
    assert.equal(api.status, 400);
    assert.match(api.headers['content-type'] ?? '', /^application\/problem\+json/);
  });
});

describe('account pages when a flow is off, and under rate limits', () => {
  it('answers 404 pages when no mail flow is on', async () => {
    const t = await createTestApp({
      env: {
        EMAIL_VERIFICATION: 'off',
        PASSWORD_RESET_ENABLED: 'false',
        PRODUCT_NAME: 'Acme & <Co>',
      },
    });
    try {
      for (const path of [VERIFY, RESET, CONFIRM]) {
        const shown = assertPage(
          await t
            .http()
            .get(path)
            .query({ token: 'x'.repeat(43) }),
          404,
        );
        assert.match(shown, /This page is not available/);
        assertPage(
          await t
            .http()
            .post(path)
            .type('form')
            .send({ token: 'x'.repeat(43) }),
          404,
        );
      }
    } finally {
      await t.close();
    }
  });

  it('answers a 429 page with Retry-After once an address posts too often', async () => {
    const t = await createTestApp({
      env: {
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_IP_PER_MINUTE: '2',
        PRODUCT_NAME: 'Acme & <Co>',
      },
    });
    try {
      const attempt = () =>
        t
          .http()
          .post(VERIFY)
          .type('form')
          .send({ token: 'x'.repeat(43) });
      assertPage(await attempt(), 400);
      assertPage(await attempt(), 400);
      const limited = await attempt();
      const html = assertPage(limited, 429);
      assert.match(html, /Too many attempts/);
      assert.match(limited.headers['retry-after'] ?? '', /^\d+$/);
      assert.ok(html.includes(`Please wait ${limited.headers['retry-after']} second`));
      // Showing the form is not limited: a mail scanner's GETs never lock a user out.
      assertPage(
        await t
          .http()
          .get(VERIFY)
          .query({ token: 'x'.repeat(43) }),
        200,
      );
    } finally {
      await t.close();
    }
  });
});

describe('the reset page in a browser', { skip: WITHOUT_CHROMIUM }, () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let origin: string;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '50', PRODUCT_NAME: 'Acme & <Co>' },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = (t.app.getHttpServer() as { address(): AddressInfo }).address();
    origin = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('opens the mailed link, sets a new password, and reports no CSP violation', async () => {
    const user = await createUser(t);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const link = linkIn(
      await smtp.waitForMail((mail) => mail.envelope.to.includes(user.email)),
      RESET,
    );
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') {
          problems.push(`console ${message.type()}: ${message.text()}`);
        }
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      const styles: number[] = [];
      page.on('response', (response) => {
        if (response.url().endsWith('/account/style.css')) styles.push(response.status());
      });

      // The mailed link's path and query, on the port this app listens on.
      await page.goto(`${origin}${link.pathname}${link.search}`);
      assert.equal(await page.title(), 'Choose a new password – Acme & <Co>');
      await page.getByLabel('New password', { exact: true }).fill(STRONG_PASSWORD);
      await page.getByLabel('Repeat the new password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Set the new password' }).click();
      await page.getByRole('heading', { name: 'Your password is changed' }).waitFor();
      assert.equal(new URL(page.url()).pathname, RESET);
      // The stylesheet loaded (the CSP let it; a second load may come from the cache).
      assert.ok(styles.length > 0 && styles.every((status) => status === 200), String(styles));
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    await loginToken(t, user.username, STRONG_PASSWORD);
  });
});
