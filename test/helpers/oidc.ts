import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import * as oidc from 'openid-client';
import { ClientCredentials } from 'simple-oauth2';
import { Transactions } from '../../src/database/database';
import { hashClientSecret } from '../../src/oidc/clients/client-metadata';
import { OidcClientsRepository } from '../../src/oidc/clients/oidc-clients.repository';
import { OidcClient } from '../../src/oidc/entities/oidc-client.entity';
import { createTestApp, type TestApp } from './test-app';

/** A port nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export interface OidcApp {
  t: TestApp;
  /** The issuer, PUBLIC_URL: http://127.0.0.1:<port> (or the host asked for). */
  issuer: string;
  /** The API's resource indicator. */
  api: string;
}

/**
 * A test app listening on a real port with PUBLIC_URL (and so the issuer) at it: relying
 * parties fetch discovery, keys and endpoints over HTTP as they would in production.
 */
export async function startOidcApp(
  /** Extra environment, or a function of the issuer that makes it. */
  env: Record<string, string> | ((issuer: string) => Record<string, string>) = {},
  /** `localhost` where a browser needs a host name (a WebAuthn RP id can't be an address). */
  host = '127.0.0.1',
): Promise<OidcApp> {
  const port = await freePort();
  const issuer = `http://${host}:${port}`;
  const extra = typeof env === 'function' ? env(issuer) : env;
  const t = await createTestApp({ env: { PUBLIC_URL: issuer, ...extra } });
  await t.app.listen(port, '127.0.0.1');
  return { t, issuer, api: `${issuer}/api/v1` };
}

export interface RegisteredClient {
  clientId: string;
  /** Undefined for a public client. */
  clientSecret: string | undefined;
}

/** Registers a client as an admin would (the row the admin API writes). */
export async function insertClient(
  t: TestApp,
  metadata: {
    redirectUris: string[];
    postLogoutRedirectUris?: string[];
    grantTypes?: string[];
    tokenEndpointAuthMethod?: 'none' | 'client_secret_basic' | 'client_secret_post';
    scope?: string;
    firstParty?: boolean;
    name?: string;
    applicationType?: 'web' | 'native';
  },
): Promise<RegisteredClient> {
  const method = metadata.tokenEndpointAuthMethod ?? 'none';
  const clientSecret = method === 'none' ? undefined : randomBytes(32).toString('base64url');
  const grantTypes = metadata.grantTypes ?? ['authorization_code', 'refresh_token'];
  const client = Object.assign(new OidcClient(), {
    id: randomBytes(12).toString('base64url'),
    clientName: metadata.name ?? 'Test app',
    secretHash: clientSecret === undefined ? null : hashClientSecret(clientSecret),
    applicationType: metadata.applicationType ?? 'web',
    redirectUris: JSON.stringify(metadata.redirectUris),
    postLogoutRedirectUris: JSON.stringify(metadata.postLogoutRedirectUris ?? []),
    grantTypes: JSON.stringify(grantTypes),
    responseTypes: JSON.stringify(grantTypes.includes('authorization_code') ? ['code'] : []),
    tokenEndpointAuthMethod: method,
    scope: metadata.scope ?? 'openid offline_access profile email roles',
    firstParty: metadata.firstParty ?? true,
  });
  await t.app.get(Transactions).run((tx) => t.app.get(OidcClientsRepository).insert(tx, client));
  return { clientId: client.id, clientSecret };
}

/** A confidential client of a service: client credentials only, its secret in a Basic header. */
export function insertServiceClient(t: TestApp): Promise<RegisteredClient> {
  return insertClient(t, {
    redirectUris: [],
    grantTypes: ['client_credentials'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    scope: 'openid',
  });
}

/** Another party's app: not first-party, so its users see the consent page. */
export function insertPartnerClient(t: TestApp, redirectUri: string): Promise<RegisteredClient> {
  return insertClient(t, { redirectUris: [redirectUri], firstParty: false, name: 'Partner app' });
}

/** simple-oauth2's client-credentials client for `client` (or for `secret` instead of its own). */
export function clientCredentials(
  app: OidcApp,
  client: RegisteredClient,
  secret = client.clientSecret ?? '',
): ClientCredentials {
  return new ClientCredentials({
    client: { id: client.clientId, secret },
    auth: { tokenHost: app.issuer, tokenPath: '/oidc/token' },
    options: { authorizationMethod: 'header' },
  });
}

/** An authorization URL of the code flow with a fresh PKCE verifier (S256), and the verifier. */
export async function authorizationUrl(
  config: oidc.Configuration,
  redirectUri: string,
  scope: string,
  params: Record<string, string> = {},
): Promise<{ url: string; verifier: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  return { url: url.href, verifier };
}

/** openid-client's view of our issuer for `client` (plain http: 127.0.0.1 in tests). */
export function discover(app: OidcApp, client: RegisteredClient): Promise<oidc.Configuration> {
  const { clientId, clientSecret } = client;
  return oidc.discovery(
    new URL(app.issuer),
    clientId,
    clientSecret === undefined ? {} : { client_secret: clientSecret },
    clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret),
    { execute: [oidc.allowInsecureRequests] },
  );
}

export interface PageAnswer {
  status: number;
  url: string;
  location: string | null;
  html: string;
  headers: Headers;
}

/** Every hidden input of a page, by name. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1] ?? ''] = (match[2] ?? '').replace(/&amp;/g, '&');
  }
  return fields;
}

/** A hidden input's value in a page (the interaction pages' mfa_token, the logout form's xsrf). */
export function hiddenValue(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}

/**
 * A browser without a browser: fetch with a cookie jar, following redirects by hand so a test
 * sees each hop and stops at the relying party's redirect URI (where the code arrives), and
 * posting the interaction pages' forms as a user would fill them.
 */
export class FormBrowser {
  private readonly cookies = new Map<string, string>();

  /** GETs `url` and follows redirects until one leads to a URL starting with `stopAt`. */
  async follow(url: string, stopAt: string): Promise<PageAnswer> {
    let current = url;
    for (let hop = 0; hop < 20; hop++) {
      if (current.startsWith(stopAt)) {
        return { status: 0, url: current, location: null, html: '', headers: new Headers() };
      }
      const answer = await this.request(current, { method: 'GET' });
      if (answer.location === null) return answer;
      current = new URL(answer.location, current).href;
    }
    throw new Error('too many redirects');
  }

  /**
   * POSTs a form of the page at `pageUrl` (its action), with the page's hidden fields and
   * `fields`, as a browser submits what the user filled in, and follows where it leads.
   */
  async submit(
    pageUrl: string,
    page: string,
    fields: Record<string, string>,
    stopAt: string,
    action?: string,
  ): Promise<PageAnswer> {
    const target = action ?? /<form method="post" action="([^"]+)"/.exec(page)?.[1];
    if (target === undefined) throw new Error(`no form in the page:\n${page}`);
    const answer = await this.request(new URL(target.replace(/&amp;/g, '&'), pageUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...hiddenFields(page), ...fields }).toString(),
    });
    if (answer.location === null) return answer;
    return this.follow(new URL(answer.location, answer.url).href, stopAt);
  }

  /**
   * The whole sign-in of the code flow: opens the authorization URL, fills the login form, and
   * the second-factor form when `code` is given, and returns the redirect to the app.
   */
  async signIn(
    authorizationUrl: string,
    stopAt: string,
    user: { username: string; password: string; code?: () => Promise<string> },
  ): Promise<PageAnswer> {
    const login = await this.follow(authorizationUrl, stopAt);
    if (login.status !== 200) throw new Error(`no login page: ${login.status} ${login.html}`);
    let next = await this.submit(
      login.url,
      login.html,
      { username: user.username, password: user.password },
      stopAt,
    );
    if (user.code !== undefined && next.status === 200) {
      next = await this.submit(
        next.url,
        next.html,
        {
          mfa_token: hiddenValue(next.html, 'mfa_token') ?? '',
          method: 'totp',
          code: await user.code(),
        },
        stopAt,
      );
    }
    return next;
  }

  async request(url: string, init: RequestInit): Promise<PageAnswer> {
    const host = new URL(url).host;
    const cookie = [...this.cookies.entries()]
      .filter(([key]) => key.startsWith(`${host}|`))
      .map(([key, value]) => `${key.slice(host.length + 1)}=${value}`)
      .join('; ');
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair === undefined || at < 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1);
      // Path scoping is left out: every cookie of the host goes with every request.
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') {
        this.cookies.delete(`${host}|${name}`);
      } else {
        this.cookies.set(`${host}|${name}`, value);
      }
    }
    return {
      status: response.status,
      url,
      location: response.headers.get('location'),
      html: await response.text(),
      headers: response.headers,
    };
  }
}
