import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadAppConfig } from './app-config';
import { ConfigurationError } from './environment';

const SECRET = randomBytes(32).toString('base64url');
const AUDIT_KEY = randomBytes(32).toString('base64url');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadAppConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigurationError);
    return error.problems;
  }
  return [];
}

describe('configuration', () => {
  it('works with no configuration at all: SQLite under data/, port 3000, a generated key', () => {
    const config = loadAppConfig({});
    assert.equal(config.http.port, 3000);
    assert.equal(config.http.host, '0.0.0.0');
    assert.equal(config.database.kind, 'sqlite');
    assert.match(
      config.database.kind === 'sqlite' ? config.database.path : '',
      /data\/app\.sqlite$/,
    );
    assert.equal(config.jwt.generated, true);
    assert.equal(config.jwt.algorithm, 'HS256');
    assert.equal(config.jwt.accessTokenTtlSeconds, 900);
    assert.deepEqual(config.argon2, { memoryKib: 19456, timeCost: 2, parallelism: 1 });
  });

  it('switches to PostgreSQL with DATABASE_URL', () => {
    const config = loadAppConfig({ DATABASE_URL: 'postgres://u@db:5432/app' });
    assert.deepEqual(config.database, { kind: 'postgres', url: 'postgres://u@db:5432/app' });
  });

  it('names each bad variable', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      ARGON2_TIME_COST: '0',
    });
    assert.ok(
      problems.some((problem) => problem.startsWith('PORT:')),
      problems.join(),
    );
    assert.ok(
      problems.some((problem) => problem.startsWith('DATABASE_URL:')),
      problems.join(),
    );
    assert.ok(
      problems.some((problem) => problem.startsWith('ARGON2_TIME_COST:')),
      problems.join(),
    );
  });

  it('never echoes a bad value (it may be a secret)', () => {
    const problems = problemsOf({ JWT_SECRET: 'hunter2-is-too-short' });
    assert.equal(problems.length, 1);
    assert.ok(!problems[0]?.includes('hunter2'));
  });

  it('refuses to start in production without a strong secret', () => {
    assert.match(problemsOf({ NODE_ENV: 'production' }).join(), /JWT_SECRET: required/);
    assert.match(
      problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short' }).join(),
      /at least 32 bytes/,
    );
    const config = loadAppConfig({
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      AUDIT_KEY: AUDIT_KEY,
      MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      EMAIL_VERIFICATION: 'off',
      PASSWORD_RESET_ENABLED: 'false',
    });
    assert.equal(config.jwt.generated, false);
    assert.equal(config.isProduction, true);
  });

  it('rejects a short secret outside production too', () => {
    assert.match(problemsOf({ JWT_SECRET: 'short' }).join(), /JWT_SECRET/);
  });

  it('accepts only exact origins in CORS_ORIGINS', () => {
    assert.deepEqual(
      loadAppConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).http
        .corsOrigins,
      ['https://app.example.com', 'http://localhost:5173'],
    );
    assert.match(problemsOf({ CORS_ORIGINS: '*' }).join(), /CORS_ORIGINS/);
    assert.match(problemsOf({ CORS_ORIGINS: 'null' }).join(), /CORS_ORIGINS/);
  });

  it('parses booleans and rejects nonsense', () => {
    assert.equal(loadAppConfig({ TRUST_PROXY: 'true' }).http.trustProxy, true);
    assert.match(problemsOf({ TRUST_PROXY: 'maybe' }).join(), /TRUST_PROXY/);
  });

  it('takes the auth-state heartbeat (1 s, deadline 2.5 s) and refuses a deadline within it', () => {
    const { heartbeatMs, heartbeatDeadlineMs } = loadAppConfig({}).authCache;
    assert.deepEqual([heartbeatMs, heartbeatDeadlineMs], [1000, 2500]);
    assert.match(
      problemsOf({
        AUTH_STATE_HEARTBEAT_MS: '2000',
        AUTH_STATE_HEARTBEAT_DEADLINE_MS: '2000',
      }).join(),
      /AUTH_STATE_HEARTBEAT_DEADLINE_MS/,
    );
  });

  it('takes REFRESH_COOKIE_SAMESITE strict (default), lax or none, and refuses anything else', () => {
    assert.equal(loadAppConfig({}).refresh.cookieSameSite, 'strict');
    assert.equal(loadAppConfig({ REFRESH_COOKIE_SAMESITE: ' Lax ' }).refresh.cookieSameSite, 'lax');
    assert.deepEqual(problemsOf({ REFRESH_COOKIE_SAMESITE: 'relaxed' }), [
      'REFRESH_COOKIE_SAMESITE: must be one of strict, lax, none',
    ]);
  });

  it('refuses REFRESH_COOKIE_SAMESITE=none without the cookie or without CORS_ORIGINS', () => {
    const crossSite = {
      REFRESH_COOKIE_SAMESITE: 'none',
      REFRESH_TOKEN_COOKIE: 'true',
      CORS_ORIGINS: 'https://spa.example.net',
    };
    assert.equal(loadAppConfig(crossSite).refresh.cookieSameSite, 'none');
    assert.match(
      problemsOf({ ...crossSite, REFRESH_TOKEN_COOKIE: 'false' }).join(),
      /REFRESH_COOKIE_SAMESITE: none applies to the refresh cookie; set REFRESH_TOKEN_COOKIE=true/,
    );
    assert.match(
      problemsOf({ ...crossSite, CORS_ORIGINS: '' }).join(),
      /REFRESH_COOKIE_SAMESITE: none needs CORS_ORIGINS/,
    );
  });
});
