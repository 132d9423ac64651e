import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_PASSWORD } from './helpers/factories';
import { testEnvironment } from './helpers/test-app';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server';
import { createTestDatabase, TestDatabase } from './helpers/test-database';

// The compiled server beside this compiled file, as `npm start` runs it.
const SERVER = path.join(__dirname, '..', 'src', 'main.js');

interface LogLine {
  level?: unknown;
  time?: unknown;
  pid?: unknown;
  context?: unknown;
  message?: unknown;
  requestId?: unknown;
  method?: unknown;
  route?: unknown;
  path?: unknown;
  status?: unknown;
  durationMs?: unknown;
  userId?: unknown;
  ip?: unknown;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Boots the built server with the shipped defaults (LOG_LEVEL unset: info), runs `use` against
 * it, then sends SIGTERM and resolves with everything it printed once it has exited.
 */
function runServer(
  database: TestDatabase,
  smtpUrl: string,
  use: (baseUrl: string) => Promise<void>,
): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: '',
    ...testEnvironment(database),
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    AUDIT_KEY: randomBytes(32).toString('base64url'),
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ARGON2_MEMORY_KIB: '19456',
    ARGON2_TIME_COST: '2',
    RATE_LIMIT_ENABLED: 'true',
    SMTP_URL: smtpUrl,
    MAIL_FROM: 'Identity <no-reply@example.com>',
    PUBLIC_URL: 'https://id.example.com',
    // A rotated token presented again is reuse at once (no grace window), for the event below.
    REFRESH_REUSE_GRACE_SECONDS: '0',
    HOST: '127.0.0.1',
    PORT: '0',
  };
  delete env.LOG_LEVEL;
  const child = spawn(process.execPath, [SERVER], { cwd: process.cwd(), env });
  const run: Run = { code: null, signal: null, stdout: '', stderr: '' };
  return new Promise((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit within 60 s:\n${run.stdout}\n${run.stderr}`));
    }, 60_000);
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      run.stdout += chunk.toString();
      const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout);
      if (address?.[1] === undefined || started) return;
      started = true;
      use(address[1]).then(
        () => child.kill('SIGTERM'),
        (error: unknown) => {
          clearTimeout(timer);
          child.kill('SIGKILL');
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

function linesOf(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

describe('request log of the built server (shipped defaults)', () => {
  let database: TestDatabase;
  let smtp: TestSmtpServer;

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp.close();
    await database.drop();
  });

  it('writes one JSON line per request, with ids and no credentials, and flushes it on SIGTERM', async () => {
    const username = `log${randomBytes(4).toString('hex')}`;
    const secret = `query-secret-${randomBytes(6).toString('hex')}`;
    const cookie = `cookie-secret-${randomBytes(6).toString('hex')}`;
    let token = '';
    let userId = '';
    const run = await runServer(database, smtp.url, async (baseUrl) => {
      const json = { 'content-type': 'application/json' };
      const registered = await fetch(`${baseUrl}/api/v1/auth/register`, {
        method: 'POST',
        headers: { ...json, 'x-request-id': 'log-test-register' },
        body: JSON.stringify({
          username,
          email: `${username}@example.com`,
          password: TEST_PASSWORD,
        }),
      });
      assert.equal(registered.status, 201, await registered.text());
      const login = await fetch(`${baseUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { ...json, 'x-request-id': 'log-test-login' },
        body: JSON.stringify({ username, password: TEST_PASSWORD }),
      });
      assert.equal(login.status, 200);
      const pair = (await login.json()) as { access_token: string; refresh_token: string };
      token = pair.access_token;
      const me = await fetch(`${baseUrl}/api/v1/users/me?access_token=${secret}`, {
        headers: {
          authorization: `Bearer ${token}`,
          cookie: `refresh_token=${cookie}`,
          'x-request-id': 'log-test-me',
        },
      });
      assert.equal(me.status, 200);
      userId = ((await me.json()) as { id: string }).id;
      const refresh = (id: string) =>
        fetch(`${baseUrl}/api/v1/auth/refresh`, {
          method: 'POST',
          headers: { ...json, 'x-request-id': id },
          body: JSON.stringify({ refresh_token: pair.refresh_token }),
        });
      const refreshed = await refresh('log-test-refresh');
      assert.equal(refreshed.status, 200, await refreshed.text());
      // The rotated token again: reuse, an application event inside this request (it
      // ends the session, so after /users/me).
      assert.equal((await refresh('log-test-reuse')).status, 401);
      // The last request, answered just before SIGTERM: its line is still buffered then.
      const refused = await fetch(`${baseUrl}/api/v1/users/me`, {
        headers: { authorization: 'Bearer not-a-token', 'x-request-id': 'log-test-refused' },
      });
      assert.equal(refused.status, 401);
    });

    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = linesOf(run.stdout);
    const requestLines = (id: string) => lines.filter((line) => line.requestId === id);
    for (const id of ['log-test-register', 'log-test-login', 'log-test-me', 'log-test-refused']) {
      assert.equal(requestLines(id).length, 1, `${id}: exactly one line\n${run.stdout}`);
    }
    // One schema for every line, the service's own events and Nest's included.
    for (const line of lines) {
      assert.equal(typeof line.level, 'string', JSON.stringify(line));
      assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(typeof line.pid, 'number', JSON.stringify(line));
      assert.equal(typeof line.message, 'string', JSON.stringify(line));
    }
    // An application event inside a request carries its request id and user id.
    const reuse = requestLines('log-test-reuse');
    assert.deepEqual(
      reuse.map(({ level, context, userId, status }) => ({ level, context, userId, status })),
      [
        { level: 'warn', context: 'SessionsService', userId, status: undefined },
        { level: 'info', context: undefined, userId: undefined, status: 401 },
      ],
      run.stdout,
    );
    const [me] = requestLines('log-test-me');
    assert.ok(me !== undefined);
    const { durationMs, ...rest } = me as LogLine & { time?: unknown; pid?: unknown };
    assert.equal(typeof durationMs, 'number');
    assert.deepEqual(
      { ...rest, time: typeof rest.time, pid: typeof rest.pid },
      {
        level: 'info',
        time: 'string',
        pid: 'number',
        requestId: 'log-test-me',
        method: 'GET',
        route: '/api/v1/users/me',
        path: '/api/v1/users/me',
        status: 200,
        userId,
        ip: '127.0.0.1',
        message: 'request completed',
      },
    );
    const [refused] = requestLines('log-test-refused');
    assert.equal(refused?.status, 401);
    assert.equal(refused?.userId, undefined);
    assert.equal(requestLines('log-test-login')[0]?.status, 200);

    const output = run.stdout + run.stderr;
    for (const credential of [secret, cookie, token, TEST_PASSWORD, 'not-a-token']) {
      assert.ok(!output.includes(credential), `the log holds ${credential}`);
    }
    assert.doesNotMatch(output, /access_token|authorization|cookie/i);
  });
});
