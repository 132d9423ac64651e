import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { Passkey } from '../src/mfa/entities/passkey.entity';
import { createUser, type CreatedUser } from './helpers/factories';
import { type PasskeyPage, servePasskeyPage } from './helpers/passkey-page';
import { addVirtualAuthenticator, launchChromium, WITHOUT_CHROMIUM } from './helpers/chromium';
import { createTestApp, type TestApp } from './helpers/test-app';

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}
interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  privateKey: string;
  userHandle: string;
  signCount: number;
}

// SPEC §9: passkeys in a real browser. Chromium runs the ceremonies with a CDP virtual
// authenticator (CTAP2, platform, resident keys, user verification) for a page on
// http://localhost that calls the API with fetch and @simplewebauthn/browser.
/** The payload of an access token (its signature was checked by the service that issued it). */
function claimsOf(token: string): { amr?: string[]; mfa_time?: number } {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    amr?: string[];
    mfa_time?: number;
  };
}

describe('passkeys in Chromium with a virtual authenticator', { skip: WITHOUT_CHROMIUM }, () => {
  let t: TestApp;
  let site: PasskeyPage;
  let browser: Browser;
  let api: string;
  before(async () => {
    site = await servePasskeyPage();
    t = await createTestApp({
      env: {
        CORS_ORIGINS: site.origin,
        WEBAUTHN_ORIGINS: site.origin,
        WEBAUTHN_RP_ID: 'localhost',
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = (t.app.getHttpServer() as { address(): AddressInfo }).address();
    api = `http://localhost:${port}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await site?.close();
  });

  /** A fresh page with its own virtual authenticator. */
  async function openPage(): Promise<{ page: Page; cdp: CDPSession; authenticatorId: string }> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
    await page.goto(`${site.origin}/?api=${encodeURIComponent(api)}`);
    assert.equal(await page.evaluate('window.isSecureContext'), true);
    assert.deepEqual(problems, []);
    return { page, cdp, authenticatorId };
  }

  const call = <T = Record<string, unknown>>(
    page: Page,
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<Answer<T>> =>
    page.evaluate(
      ([m, p, b, k]) =>
        (globalThis as unknown as { call: (...a: unknown[]) => Promise<Answer<T>> }).call(
          m,
          p,
          b,
          k,
        ),
      [method, path, body, token] as const,
    );

  const passwordLogin = async (page: Page, user: CreatedUser): Promise<string> => {
    const login = await call<{ access_token: string }>(page, 'POST', '/auth/login', {
      username: user.username,
      password: user.password,
    });
    assert.equal(login.status, 200);
    return login.body.access_token;
  };

  const registerPasskey = (page: Page, token: string, password: string) =>
    page.evaluate(
      ([k, p]) =>
        (
          globalThis as unknown as { registerPasskey: (k: string, p: string) => Promise<Answer> }
        ).registerPasskey(k, p),
      [token, password] as const,
    );

  const signIn = (page: Page) =>
    page.evaluate(() =>
      (
        globalThis as unknown as {
          signIn: () => Promise<{
            response: AuthenticationResponseJSON;
            login: Answer<{ access_token: string; refresh_token: string; type?: string }>;
          }>;
        }
      ).signIn(),
    );

  const assertion = (page: Page, path: string, body?: unknown, token?: string) =>
    page.evaluate(
      ([p, b, k]) =>
        (
          globalThis as unknown as {
            assertion: (...a: unknown[]) => Promise<AuthenticationResponseJSON>;
          }
        ).assertion(p, b, k),
      [path, body, token] as const,
    );

  const credentialsOf = async (cdp: CDPSession, authenticatorId: string) =>
    (await cdp.send('WebAuthn.getCredentials', { authenticatorId }))
      .credentials as VirtualCredential[];

  it('registers a passkey after a password login, signs out, and signs in with it usernameless', async () => {
    const user = await createUser(t);
    const { page, cdp, authenticatorId } = await openPage();
    const token = await passwordLogin(page, user);

    const added = await registerPasskey(page, token, user.password);
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.deviceType, 'singleDevice');
    const [credential] = await credentialsOf(cdp, authenticatorId);
    assert.ok(credential?.isResidentCredential, 'a discoverable credential');
    assert.equal(credential?.rpId, 'localhost');
    // The user handle is the account's uuid bytes (CDP gives it base64).
    assert.equal(
      Buffer.from(credential?.userHandle ?? '', 'base64').toString('hex'),
      user.user.id.replace(/-/g, ''),
    );

    assert.equal((await call(page, 'POST', '/auth/logout', undefined, token)).status, 204);
    assert.equal((await call(page, 'GET', '/users/me', undefined, token)).status, 401);

    const { response, login } = await signIn(page);
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const me = await call<{ id: string }>(
      page,
      'GET',
      '/users/me',
      undefined,
      login.body.access_token,
    );
    assert.equal(me.status, 200);
    assert.equal(me.body.id, user.user.id);

    // The stored counter follows the authenticator's.
    const row = await t.dataSource.getRepository(Passkey).findOneByOrFail({ userId: user.user.id });
    const [used] = await credentialsOf(cdp, authenticatorId);
    assert.equal(row.signCount, used?.signCount);
    assert.ok(row.signCount > 0);
    assert.ok(row.lastUsedAt);

    // The same assertion again (a replay, or a copy taken off the wire): its challenge is spent.
    const replay = await call(page, 'POST', '/auth/passkey/login', { response });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.type, 'urn:problem:identity:invalid-credentials');
    await page.close();
  });

  it('serves as the second factor of a password login and for step-up, over HTTP', async () => {
    const user = await createUser(t);
    const { page } = await openPage();
    const token = await passwordLogin(page, user);
    assert.equal((await registerPasskey(page, token, user.password)).status, 201);

    // With a passkey enrolled the password alone no longer signs in.
    const login = await call<{ mfa_required: boolean; mfa_token: string; methods: string[] }>(
      page,
      'POST',
      '/auth/login',
      { username: user.username, password: user.password },
    );
    assert.equal(login.status, 200);
    assert.equal(login.body.mfa_required, true);
    assert.deepEqual(login.body.methods, ['passkey']);
    const signed = await assertion(page, '/auth/mfa/passkey-options', {
      mfa_token: login.body.mfa_token,
    });
    const verified = await call<{ access_token: string }>(page, 'POST', '/auth/mfa/verify', {
      mfa_token: login.body.mfa_token,
      passkey: signed,
    });
    assert.equal(verified.status, 200);
    const claims = claimsOf(verified.body.access_token);
    assert.deepEqual(claims.amr, ['pwd', 'hwk', 'mfa']);
    assert.equal(claims.mfa_time, t.clock.nowSeconds());
    assert.equal(
      (await call(page, 'GET', '/users/me', undefined, verified.body.access_token)).status,
      200,
    );
    // The login was spent: the same assertion (or any answer) is refused now.
    const again = await call(page, 'POST', '/auth/mfa/verify', {
      mfa_token: login.body.mfa_token,
      passkey: signed,
    });
    assert.equal(again.status, 401);

    // Step-up of the password-only session with the passkey.
    t.clock.advance(t.config.mfa.stepUpMaxAgeSeconds + 1);
    const stepUp = await assertion(page, '/auth/mfa/step-up/passkey-options', undefined, token);
    const stepped = await call<{ access_token: string }>(
      page,
      'POST',
      '/auth/mfa/step-up',
      { passkey: stepUp },
      token,
    );
    assert.equal(stepped.status, 200);
    const stepClaims = claimsOf(stepped.body.access_token);
    assert.deepEqual(stepClaims.amr, ['pwd', 'hwk', 'mfa']);
    assert.equal(stepClaims.mfa_time, t.clock.nowSeconds());
    const replayed = await call(page, 'POST', '/auth/mfa/step-up', { passkey: stepUp }, token);
    assert.equal(replayed.status, 401);
    assert.equal(
      (replayed.body as { type?: string }).type,
      'urn:problem:identity:invalid-mfa-code',
    );
    await page.close();
  });

  it('refuses a cloned authenticator (its counter behind), and a passkey once deleted', async () => {
    const user = await createUser(t);
    const first = await openPage();
    const token = await passwordLogin(first.page, user);
    assert.equal((await registerPasskey(first.page, token, user.password)).status, 201);
    const [original] = await credentialsOf(first.cdp, first.authenticatorId);
    assert.ok(original);
    for (let use = 0; use < 2; use += 1) {
      assert.equal((await signIn(first.page)).login.status, 200);
    }

    // A copy of the key as it was at registration, in another browser: its counter is behind.
    const clone = await openPage();
    await clone.cdp.send('WebAuthn.addCredential', {
      authenticatorId: clone.authenticatorId,
      credential: { ...original, signCount: 0 },
    });
    const cloned = await signIn(clone.page);
    assert.equal(cloned.login.status, 401);
    const failures = await t.dataSource
      .getRepository(AuditEvent)
      .findBy({ subjectUserId: user.user.id, type: 'auth.passkey_login_failed' });
    assert.deepEqual(
      failures.map((event) => (JSON.parse(event.details) as { reason: string }).reason),
      ['counter_not_increased'],
    );
    // The genuine authenticator goes on.
    assert.equal((await signIn(first.page)).login.status, 200);

    const [{ id }] = (
      await call<Array<{ id: string }>>(first.page, 'GET', '/users/me/passkeys', undefined, token)
    ).body;
    const removed = await call(
      first.page,
      'DELETE',
      `/users/me/passkeys/${id}`,
      {
        currentPassword: user.password,
      },
      token,
    );
    assert.equal(removed.status, 204);
    const refused = await signIn(first.page);
    assert.equal(refused.login.status, 401);
    assert.equal(refused.login.body.type, 'urn:problem:identity:invalid-credentials');
    await first.page.close();
    await clone.page.close();
  });
});
