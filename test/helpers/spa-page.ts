import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the SPA is built with, as a real one has it in its bundle. */
export interface SpaSettings {
  issuer: string;
  clientId: string;
  /** The API's resource indicator, `${issuer}/api/v1`. */
  api: string;
}

// A single-page app as one is written without a framework: the code flow with PKCE in plain
// browser JS (crypto.getRandomValues, crypto.subtle), tokens kept in sessionStorage, the API
// called with fetch across origins. `window.spa` also lets a test replay tokens it kept.
const SCRIPT = `
const config = JSON.parse(document.getElementById('config').textContent);
const redirectUri = location.origin + '/callback';
const postLogoutRedirectUri = location.origin + '/signed-out';
const status = document.getElementById('status');

function base64url(bytes) {
  let text = '';
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
}
const randomText = (length) => base64url(crypto.getRandomValues(new Uint8Array(length)));

function show(state, text) {
  document.body.dataset.state = state;
  status.textContent = text;
}

async function discovery() {
  const kept = sessionStorage.getItem('discovery');
  if (kept !== null) return JSON.parse(kept);
  const answer = await fetch(config.issuer + '/.well-known/openid-configuration');
  if (!answer.ok) throw new Error('discovery answered ' + answer.status);
  const metadata = await answer.json();
  if (metadata.issuer !== config.issuer) throw new Error('discovery names another issuer');
  sessionStorage.setItem('discovery', JSON.stringify(metadata));
  return metadata;
}

const savedTokens = () => JSON.parse(sessionStorage.getItem('tokens') ?? 'null');

async function answerOf(response) {
  const text = await response.text();
  let body = text;
  try { body = text === '' ? null : JSON.parse(text); } catch {}
  return { status: response.status, body };
}

async function callApi(method, path, accessToken) {
  return answerOf(await fetch(config.api + path, {
    method,
    headers: { Authorization: 'Bearer ' + accessToken },
  }));
}

async function tokenRequest(fields) {
  const metadata = await discovery();
  return answerOf(await fetch(metadata.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ client_id: config.clientId, resource: config.api, ...fields }),
  }));
}

async function signIn() {
  const metadata = await discovery();
  const verifier = randomText(32);
  const state = randomText(16);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem('pending', JSON.stringify({ verifier, state }));
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri,
    scope: 'openid profile offline_access',
    resource: config.api,
    state,
    code_challenge: base64url(digest),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
}

async function showMe() {
  const tokens = savedTokens();
  if (tokens === null) return show('signed-out', 'Not signed in');
  const me = await callApi('GET', '/users/me', tokens.access_token);
  if (me.status !== 200) return show('error', 'The API answered ' + me.status);
  document.getElementById('username').textContent = me.body.username;
  show('signed-in', 'Signed in as ' + me.body.username);
}

async function callback() {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem('pending') ?? 'null');
  sessionStorage.removeItem('pending');
  // The code leaves the address bar (and the history) at once.
  history.replaceState(null, '', '/');
  if (params.has('error')) return show('error', 'Sign-in failed: ' + params.get('error'));
  if (pending === null || params.get('state') !== pending.state) {
    return show('error', 'Sign-in failed: the state does not match');
  }
  if (params.has('iss') && params.get('iss') !== config.issuer) {
    return show('error', 'Sign-in failed: the answer is from another issuer');
  }
  const answer = await tokenRequest({
    grant_type: 'authorization_code',
    code: params.get('code'),
    redirect_uri: redirectUri,
    code_verifier: pending.verifier,
  });
  if (answer.status !== 200) {
    return show('error', 'The token endpoint answered ' + answer.status + ' ' + JSON.stringify(answer.body));
  }
  sessionStorage.setItem('tokens', JSON.stringify(answer.body));
  await showMe();
}

// "Sign out": ends this session at the API; the tokens are dropped.
async function signOut() {
  const tokens = savedTokens();
  sessionStorage.removeItem('tokens');
  const answer = await callApi('POST', '/auth/logout', tokens.access_token);
  show(answer.status === 204 ? 'signed-out' : 'error', answer.status === 204 ? 'Signed out' : 'Logout answered ' + answer.status);
}

// "Sign out of the service": RP-initiated logout at the provider, which confirms with the user.
async function signOutEverywhere() {
  const tokens = savedTokens();
  sessionStorage.removeItem('tokens');
  const metadata = await discovery();
  const state = randomText(16);
  sessionStorage.setItem('logout', state);
  const url = new URL(metadata.end_session_endpoint);
  url.search = new URLSearchParams({
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: postLogoutRedirectUri,
    state,
  }).toString();
  location.assign(url.href);
}

function signedOut() {
  const state = new URLSearchParams(location.search).get('state');
  const expected = sessionStorage.getItem('logout');
  sessionStorage.removeItem('logout');
  history.replaceState(null, '', '/');
  show(state !== null && state === expected ? 'signed-out' : 'error', 'Signed out');
}

const failed = (error) => show('error', String(error));
// Busy until the action shows where it ended (what a test waits for).
const click = (id, action) =>
  document.getElementById(id).addEventListener('click', () => {
    show('loading', 'Working');
    action().catch(failed);
  });
click('sign-in', signIn);
click('sign-out', signOut);
click('sign-out-everywhere', signOutEverywhere);
window.spa = {
  tokens: savedTokens,
  callApi,
  refresh: (refreshToken) => tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }),
};
const route = { '/callback': callback, '/signed-out': signedOut }[location.pathname] ?? showMe;
Promise.resolve().then(route).catch(failed);
`;

function html(settings: SpaSettings): string {
  // JSON in a script element: `<` escaped so no value can close it.
  const config = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Test SPA</title>
<script type="application/json" id="config">${config}</script>
</head><body data-state="loading">
<p id="status">Loading</p>
<p>User: <span id="username"></span></p>
<button id="sign-in">Sign in</button>
<button id="sign-out">Sign out</button>
<button id="sign-out-everywhere">Sign out of the service</button>
<script src="/app.js"></script>
</body></html>`;
}

export interface SpaPage {
  /** http://127.0.0.1:<port>, another origin than the service's. */
  origin: string;
  /** Where the provider sends the code. */
  redirectUri: string;
  /** Where RP-initiated logout comes back to. */
  postLogoutRedirectUri: string;
  /** Builds the app for a client registered once the service runs (its origin is known first). */
  configure(settings: SpaSettings): void;
  close(): Promise<void>;
}

/** Serves the SPA on 127.0.0.1: its page at /, /callback and /signed-out, its script at /app.js. */
export async function serveSpa(): Promise<SpaPage> {
  let settings: SpaSettings | undefined;
  const server: Server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (pathname === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(SCRIPT);
    } else if (['/', '/callback', '/signed-out'].includes(pathname) && settings !== undefined) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html(settings));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    redirectUri: `${origin}/callback`,
    postLogoutRedirectUri: `${origin}/signed-out`,
    configure: (next) => {
      settings = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
