import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, it } from 'node:test';
import { AppConfig, loadAppConfig } from './app-config';
import { ConfigurationError } from './environment';

const STRONG = {
  NODE_ENV: 'production',
  JWT_SECRET: randomBytes(48).toString('base64url'),
  AUDIT_KEY: randomBytes(32).toString('base64url'),
  MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  // Production mails (SPEC §8): a transport, the sender, and https links.
  SMTP_URL: 'smtp://mail.example.com:587',
  MAIL_FROM: 'Example <no-reply@example.com>',
  PUBLIC_URL: 'https://id.example.com',
};

function refusal(env: Record<string, string>): string[] {
  try {
    loadAppConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigurationError);
    return error.problems;
  }
  assert.fail('the configuration was accepted');
}

function refusedFor(env: Record<string, string>, variable: string): string {
  const problems = refusal(env);
  const problem = problems.find((entry) => entry.startsWith(`${variable}`));
  assert.ok(problem !== undefined, `${variable} not named in: ${problems.join(' | ')}`);
  return problem;
}

describe('production configuration', () => {
  it('boots with a strong JWT_SECRET and AUDIT_KEY and the mail settings: the defaults are the safe values', () => {
    const config = loadAppConfig(STRONG);
    assert.equal(config.isProduction, true);
    assert.deepEqual(config.warnings, []);
    assert.equal(config.rateLimit.enabled, true);
    assert.equal(config.http.trustProxy, false);
    // Swagger follows NODE_ENV when SWAGGER_ENABLED is unset.
    assert.equal(config.http.swaggerEnabled, false);
    assert.equal(loadAppConfig({}).http.swaggerEnabled, true);
  });

  it('boots from .env.example with only NODE_ENV, the keys and the mail settings changed, without a warning', () => {
    const example = parseEnv(readFileSync('.env.example', 'utf8'));
    const config = loadAppConfig({ ...example, ...STRONG });
    assert.deepEqual(config.warnings, []);
    assert.equal(config.http.swaggerEnabled, false);
  });

  it('refuses to mail without SMTP_URL, a sender and an https PUBLIC_URL, unless every mail flow is off', () => {
    const { SMTP_URL, MAIL_FROM, PUBLIC_URL, ...keys } = STRONG;
    assert.ok(SMTP_URL && MAIL_FROM && PUBLIC_URL);
    const problems = refusal(keys);
    for (const variable of ['SMTP_URL', 'PUBLIC_URL', 'MAIL_FROM']) {
      assert.ok(
        problems.some((problem) => problem.startsWith(`${variable}:`)),
        `${variable} not named in: ${problems.join(' | ')}`,
      );
    }
    assert.match(
      refusedFor({ ...STRONG, PUBLIC_URL: 'http://id.example.com' }, 'PUBLIC_URL'),
      /https/,
    );
    // Only one flow on is enough to need them.
    refusedFor({ ...keys, EMAIL_VERIFICATION: 'off' }, 'SMTP_URL');
    refusedFor({ ...keys, PASSWORD_RESET_ENABLED: 'false' }, 'SMTP_URL');
    const mailless = loadAppConfig({
      ...keys,
      EMAIL_VERIFICATION: 'off',
      PASSWORD_RESET_ENABLED: 'false',
    });
    assert.equal(mailless.mail.smtpUrl, undefined);
  });

  it('refuses second factors without MFA_ENCRYPTION_KEY (naming it) unless MFA_ENABLED=false, and keys that are not 32 bytes', () => {
    const { MFA_ENCRYPTION_KEY, ...keys } = STRONG;
    assert.ok(MFA_ENCRYPTION_KEY);
    assert.match(refusedFor(keys, 'MFA_ENCRYPTION_KEY'), /required when NODE_ENV=production/);
    const off = loadAppConfig({ ...keys, MFA_ENABLED: 'false' });
    assert.equal(off.mfa.enabled, false);
    assert.equal(off.mfa.encryptionKey, undefined);
    assert.match(
      refusedFor({ ...STRONG, MFA_ENCRYPTION_KEY: 'too-short' }, 'MFA_ENCRYPTION_KEY'),
      /32 bytes/,
    );
    refusedFor(
      { ...STRONG, MFA_PREVIOUS_ENCRYPTION_KEYS: `${randomBytes(32).toString('hex')},nope` },
      'MFA_PREVIOUS_ENCRYPTION_KEYS',
    );
    // A rotation: the new key current, the old one still opening what it sealed.
    const previous = randomBytes(32).toString('base64url');
    const rotating = loadAppConfig({ ...STRONG, MFA_PREVIOUS_ENCRYPTION_KEYS: previous });
    assert.deepEqual(rotating.mfa.previousEncryptionKeys, [Buffer.from(previous, 'base64url')]);
  });

  it('refuses a guessable JWT_SECRET, without echoing it; development still accepts it', () => {
    for (const secret of ['a'.repeat(32), 'changeme'.repeat(4), 'password'.repeat(4) + '1']) {
      const problem = refusedFor({ ...STRONG, JWT_SECRET: secret }, 'JWT_SECRET');
      assert.match(problem, /too predictable/);
      assert.ok(!problem.includes(secret.slice(0, 8)), problem);
      assert.ok(loadAppConfig({ JWT_SECRET: secret }) instanceof AppConfig);
    }
  });

  it('refuses argon2 below the OWASP minimum, accepts every point on it', () => {
    for (const [memory, time] of [
      [1024, 1],
      [47103, 1],
      [19455, 2],
      [19456, 1],
      [12287, 3],
      [9215, 4],
      [7167, 64],
    ]) {
      const problem = refusedFor(
        { ...STRONG, ARGON2_MEMORY_KIB: String(memory), ARGON2_TIME_COST: String(time) },
        'ARGON2_MEMORY_KIB, ARGON2_TIME_COST',
      );
      assert.match(problem, /OWASP/);
    }
    for (const [memory, time] of [
      [47104, 1],
      [19456, 2],
      [12288, 3],
      [9216, 4],
      [7168, 5],
      [65536, 3],
    ]) {
      const config = loadAppConfig({
        ...STRONG,
        ARGON2_MEMORY_KIB: String(memory),
        ARGON2_TIME_COST: String(time),
      });
      assert.deepEqual(config.argon2, { memoryKib: memory, timeCost: time, parallelism: 1 });
    }
  });

  const optOuts: Array<[string, Record<string, string>]> = [
    ['RATE_LIMIT_ENABLED', { RATE_LIMIT_ENABLED: 'false' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'true' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/8, 0.0.0.0/0' }],
    ['AUTH_CACHE_TTL', { AUTH_CACHE_TTL: '3600' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://app.example.com,http://app.example.com' }],
  ];
  for (const [variable, setting] of optOuts) {
    it(`refuses ${JSON.stringify(setting)}, and accepts it with a warning when PRODUCTION_ALLOW_INSECURE names ${variable}`, () => {
      const problem = refusedFor({ ...STRONG, ...setting }, variable);
      assert.match(problem, new RegExp(`PRODUCTION_ALLOW_INSECURE=${variable}`));
      const config = loadAppConfig({
        ...STRONG,
        ...setting,
        PRODUCTION_ALLOW_INSECURE: ` ${variable} ,`,
      });
      assert.equal(config.warnings.length, 1);
      assert.match(config.warnings[0] ?? '', new RegExp(`^${variable}: insecure value accepted`));
      // Outside production the same setting is fine and quiet.
      assert.deepEqual(loadAppConfig(setting).warnings, []);
    });
  }

  it('accepts the safe forms of those settings without a warning', () => {
    const config = loadAppConfig({
      ...STRONG,
      TRUST_PROXY: '1',
      AUTH_CACHE_TTL: '300',
      CORS_ORIGINS: 'https://app.example.com',
    });
    assert.deepEqual(config.warnings, []);
    assert.deepEqual(loadAppConfig({ ...STRONG, TRUST_PROXY: '10.0.0.0/8' }).warnings, []);
  });

  it('names every refused setting at once, and refuses an unknown name in the opt-out list', () => {
    const problems = refusal({
      ...STRONG,
      JWT_SECRET: 'changeme'.repeat(4),
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      RATE_LIMIT_ENABLED: 'false',
      TRUST_PROXY: 'true',
      AUTH_CACHE_TTL: '3600',
      PRODUCTION_ALLOW_INSECURE: 'RATE_LIMITS',
    });
    for (const variable of [
      'JWT_SECRET',
      'ARGON2_MEMORY_KIB',
      'RATE_LIMIT_ENABLED',
      'TRUST_PROXY',
      'AUTH_CACHE_TTL',
      'PRODUCTION_ALLOW_INSECURE',
    ]) {
      assert.ok(
        problems.some((problem) => problem.startsWith(variable)),
        `${variable}: ${problems.join(' | ')}`,
      );
    }
  });

  it('serves Swagger in production only when asked, and warns about it at every boot', () => {
    const config = loadAppConfig({ ...STRONG, SWAGGER_ENABLED: 'true' });
    assert.equal(config.http.swaggerEnabled, true);
    assert.equal(config.warnings.length, 1);
    assert.match(config.warnings[0] ?? '', /^SWAGGER_ENABLED:/);
    assert.equal(loadAppConfig({ ...STRONG, SWAGGER_ENABLED: 'false' }).http.swaggerEnabled, false);
    assert.equal(loadAppConfig({ SWAGGER_ENABLED: 'false' }).http.swaggerEnabled, false);
  });

  describe('the OpenID Provider', () => {
    const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const keys = {
      OIDC_COOKIE_KEYS: randomBytes(32).toString('base64url'),
      OIDC_SIGNING_KEY: signingKey,
    };

    it('stays off without its keys (no warning: nothing insecure is accepted)', () => {
      const config = loadAppConfig(STRONG);
      assert.equal(config.oidc, undefined);
      assert.deepEqual(config.warnings, []);
    });

    it('is on with its keys, the issuer PUBLIC_URL and the API the resource', () => {
      const config = loadAppConfig({ ...STRONG, ...keys });
      assert.equal(config.oidc?.issuer, 'https://id.example.com');
      assert.equal(config.oidc?.apiResource, 'https://id.example.com/api/v1');
      assert.equal(config.oidc?.generated, false);
      assert.equal(config.oidc?.idTokenKey.alg, 'ES256');
      assert.deepEqual(
        config.oidc?.extraJwks.map((jwk) => jwk.kid),
        [config.oidc?.idTokenKey.kid],
      );
    });

    it('OIDC_ENABLED=true makes the keys required, naming them', () => {
      const problem = refusedFor({ ...STRONG, OIDC_ENABLED: 'true' }, 'OIDC_COOKIE_KEYS');
      assert.match(problem, /OIDC_SIGNING_KEY/);
    });

    it('refuses short or guessable cookie keys and a signing key that is not a private key', () => {
      refusedFor({ ...STRONG, ...keys, OIDC_COOKIE_KEYS: 'short' }, 'OIDC_COOKIE_KEYS');
      refusedFor(
        { ...STRONG, ...keys, OIDC_COOKIE_KEYS: 'changeme'.repeat(5) },
        'OIDC_COOKIE_KEYS',
      );
      refusedFor({ ...STRONG, ...keys, OIDC_SIGNING_KEY: 'not a key' }, 'OIDC_SIGNING_KEY');
    });

    it('with an asymmetric JWT_ALGORITHM the access-token key signs ID tokens; OIDC_SIGNING_KEY is refused', () => {
      const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      const asymmetric = {
        ...STRONG,
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: jwtKey,
        OIDC_COOKIE_KEYS: keys.OIDC_COOKIE_KEYS,
      };
      const config = loadAppConfig(asymmetric);
      assert.equal(config.oidc?.idTokenKey.kid, config.jwt.signingKid);
      assert.deepEqual(config.oidc?.extraJwks, []);
      refusedFor({ ...asymmetric, OIDC_SIGNING_KEY: signingKey }, 'OIDC_SIGNING_KEY');
    });

    it('OIDC_ENABLED=false turns it off anywhere', () => {
      assert.equal(loadAppConfig({ OIDC_ENABLED: 'false' }).oidc, undefined);
      assert.notEqual(loadAppConfig({ OIDC_ENABLED: '' }).oidc, undefined);
    });
  });
});
