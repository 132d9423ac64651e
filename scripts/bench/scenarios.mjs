// The four measured requests, as autocannon options, and the accounts and tokens they need,
// made through the API like any client would.
import { randomBytes } from 'node:crypto';
import { API, BENCH_PASSWORD } from './config.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The bench's accounts: one per scenario that needs an existing user. */
export const ACCOUNTS = { me: 'bench-me', refresh: 'bench-refresh' };

// Logins go round-robin over this many accounts. Every login attempt counts against its
// account's lockout until it is resolved (docs/decisions.md, "Login attempts counted before the
// hash"), so more than LOCKOUT_THRESHOLD (5) logins of one account in flight at once would be
// refused however right the password: with 32 accounts that needs over 128 connections.
const LOGIN_ACCOUNTS = Array.from({ length: 32 }, (_, index) => `bench-login-${index}`);

async function postJson(baseUrl, path, body, expectedStatus) {
  const response = await globalThis.fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
    signal: globalThis.AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status !== expectedStatus) {
    throw new Error(`POST ${path}: expected ${expectedStatus}, got ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

function register(baseUrl, username) {
  return postJson(
    baseUrl,
    `${API}/auth/register`,
    { username, email: `${username}@bench.example.com`, password: BENCH_PASSWORD },
    201,
  );
}

function login(baseUrl, username) {
  return postJson(baseUrl, `${API}/auth/login`, { username, password: BENCH_PASSWORD }, 200);
}

/** Registers the accounts and returns an access token of `bench-me`. */
export async function seedAccounts(baseUrl) {
  for (const username of [...Object.values(ACCOUNTS), ...LOGIN_ACCOUNTS]) {
    await register(baseUrl, username);
  }
  const { access_token: accessToken } = await login(baseUrl, ACCOUNTS.me);
  return { accessToken };
}

/**
 * `count` fresh sessions of `bench-refresh` (one refresh token each). Each login costs an
 * argon2 verification, so a few run at once; only one token per connection is needed.
 */
async function freshRefreshTokens(baseUrl, count) {
  const tokens = [];
  while (tokens.length < count) {
    const batch = Math.min(4, count - tokens.length);
    const pairs = await Promise.all(
      Array.from({ length: batch }, () => login(baseUrl, ACCOUNTS.refresh)),
    );
    tokens.push(...pairs.map((pair) => pair.refresh_token));
  }
  return tokens;
}

/** 1. GET /users/me with a valid access token: the whole guard path. */
export function usersMe(accessToken) {
  return {
    requests: [
      {
        method: 'GET',
        path: `${API}/users/me`,
        headers: { authorization: `Bearer ${accessToken}` },
      },
    ],
  };
}

/** 2. POST /auth/login with correct credentials: one argon2 verification and a new session. */
export function correctLogin() {
  let counter = 0;
  return {
    requests: [
      {
        method: 'POST',
        path: `${API}/auth/login`,
        headers: JSON_HEADERS,
        setupRequest: (request) => {
          counter += 1;
          const username = LOGIN_ACCOUNTS[counter % LOGIN_ACCOUNTS.length];
          return { ...request, body: JSON.stringify({ username, password: BENCH_PASSWORD }) };
        },
      },
    ],
  };
}

/**
 * 3. POST /auth/refresh. A refresh token works once, so each connection owns a session and
 * sends, each time, the token the previous answer returned. (autocannon's per-request
 * `context` is reset after every pass through the request list, so the chain lives in a
 * closure per connection instead.) Needs a fresh session per connection for every run: a
 * run stops with requests in flight, whose new tokens are never seen.
 */
export async function refreshChains(baseUrl, connections) {
  const tokens = await freshRefreshTokens(baseUrl, connections);
  let next = 0;
  return {
    setupClient(client) {
      const chain = { token: tokens[next++ % tokens.length] };
      client.setRequests([
        {
          method: 'POST',
          path: `${API}/auth/refresh`,
          headers: JSON_HEADERS,
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ refresh_token: chain.token }),
          }),
          onResponse: (status, body) => {
            if (status === 200) chain.token = JSON.parse(body).refresh_token;
          },
        },
      ]);
    },
  };
}

/** 4. POST /auth/register with a new username and email each time (one argon2 hash each). */
export function registrations() {
  // Distinct per run and per process: the database keeps earlier runs' accounts.
  const tag = randomBytes(4).toString('hex');
  let counter = 0;
  return {
    requests: [
      {
        method: 'POST',
        path: `${API}/auth/register`,
        headers: JSON_HEADERS,
        setupRequest: (request) => {
          counter += 1;
          const username = `r${tag}-${counter}`;
          return {
            ...request,
            body: JSON.stringify({
              username,
              email: `${username}@bench.example.com`,
              password: BENCH_PASSWORD,
            }),
          };
        },
      },
    ],
  };
}
