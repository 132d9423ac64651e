import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEnvironment } from './helpers/test-app';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server';
import { createTestDatabase, TestDatabase } from './helpers/test-database';

// The compiled server beside this compiled file, as `npm start` runs it.
const SERVER = path.join(__dirname, '..', 'src', 'main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the built server with NODE_ENV=production', () => {
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

  // Production settings that pass: OWASP argon2, rate limits on, no proxy trusted.
  function productionEnv(env: Record<string, string>): NodeJS.ProcessEnv {
    return {
      ...process.env,
      // '' keeps a developer's .env from sending a SQLite run to PostgreSQL.
      DATABASE_URL: '',
      ...testEnvironment(database),
      NODE_ENV: 'production',
      AUDIT_KEY: randomBytes(32).toString('base64url'),
      MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ARGON2_MEMORY_KIB: '19456',
      ARGON2_TIME_COST: '2',
      RATE_LIMIT_ENABLED: 'true',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Identity <no-reply@example.com>',
      PUBLIC_URL: 'https://id.example.com',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    };
  }

  /** Starts the server; resolves when it exits, or with `onListening`'s result once it listens. */
  function start<T>(
    env: Record<string, string>,
    onListening?: (baseUrl: string, run: Run) => Promise<T>,
  ): Promise<Run & { result?: T }> {
    const child = spawn(process.execPath, [SERVER], {
      cwd: process.cwd(),
      env: productionEnv(env),
    });
    const run: Run = { code: null, stdout: '', stderr: '' };
    return new Promise((resolve, reject) => {
      let listening = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no exit or listen within 60 s:\n${run.stdout}\n${run.stderr}`));
      }, 60_000);
      child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        run.stdout += chunk.toString();
        const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout);
        if (address?.[1] === undefined || listening || onListening === undefined) return;
        listening = true;
        onListening(address[1], run).then(
          (result) => {
            child.once('exit', () => resolve({ ...run, result }));
            child.kill('SIGTERM');
          },
          (error: Error) => {
            child.kill('SIGKILL');
            reject(error);
          },
        );
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        run.code = code;
        if (!listening) resolve(run);
      });
    });
  }

  it('refuses to start with a guessable JWT_SECRET: exit 1, the variable named, the value not echoed', async () => {
    const secret = 'changeme'.repeat(4);
    const run = await start({ JWT_SECRET: secret });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /JWT_SECRET: too predictable/);
    assert.ok(!(run.stdout + run.stderr).includes('changeme'));
  });

  it('refuses weak argon2, rate limits off, any proxy trusted and a one-hour cache, naming each', async () => {
    const run = await start({
      JWT_SECRET: randomBytes(48).toString('base64url'),
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      RATE_LIMIT_ENABLED: 'false',
      TRUST_PROXY: 'true',
      AUTH_CACHE_TTL: '3600',
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    for (const variable of [
      'ARGON2_MEMORY_KIB',
      'RATE_LIMIT_ENABLED',
      'TRUST_PROXY',
      'AUTH_CACHE_TTL',
    ]) {
      assert.match(run.stderr, new RegExp(`- ${variable}`), run.stderr);
    }
  });

  it('starts with a strong secret and an opt-out: serves, warns about the opt-out, no Swagger', async () => {
    const run = await start(
      {
        JWT_SECRET: randomBytes(48).toString('base64url'),
        RATE_LIMIT_ENABLED: 'false',
        PRODUCTION_ALLOW_INSECURE: 'RATE_LIMIT_ENABLED',
      },
      async (baseUrl) => ({
        live: (await fetch(`${baseUrl}/api/v1/health/live`)).status,
        docs: (await fetch(`${baseUrl}/docs`)).status,
      }),
    );
    assert.deepEqual(run.result, { live: 200, docs: 404 }, run.stdout + run.stderr);
    const warnings = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level?: unknown; message?: unknown; context?: unknown })
      .filter((entry) => entry.context === 'Configuration');
    assert.equal(warnings.length, 1, run.stdout);
    assert.equal(warnings[0]?.level, 'warn');
    assert.match(String(warnings[0]?.message), /^RATE_LIMIT_ENABLED: insecure value accepted/);
  });

  it('refuses to start without MFA_ENCRYPTION_KEY while second factors are on, and starts with MFA_ENABLED=false', async () => {
    const secret = randomBytes(48).toString('base64url');
    const refused = await start({ JWT_SECRET: secret, MFA_ENCRYPTION_KEY: '' });
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /- MFA_ENCRYPTION_KEY: required when NODE_ENV=production/);

    const keyFile = path.join(os.tmpdir(), `mfa-${randomBytes(6).toString('hex')}.key`);
    const off = await start(
      {
        JWT_SECRET: secret,
        MFA_ENCRYPTION_KEY: '',
        MFA_ENABLED: 'false',
        MFA_ENCRYPTION_KEY_FILE: keyFile,
      },
      async (baseUrl) => (await fetch(`${baseUrl}/api/v1/users/me/mfa`)).status,
    );
    // Served (the route is there, and wants a token), with no key anywhere: none generated.
    assert.equal(off.result, 401, off.stdout + off.stderr);
    assert.equal(existsSync(keyFile), false);
    assert.doesNotMatch(off.stdout, /MFA_ENCRYPTION_KEY/);
  });
});
