// Settings of `npm run bench`: BENCH_* variables, the app's environment, and the constants the
// benchmark scripts share. No side effects on import.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const BENCH_DIR = path.join(ROOT, 'scripts/bench');
export const APP_ENTRY = path.join(ROOT, 'dist/src/main.js');

export const API = '/api/v1';
export const READY_PATH = `${API}/health/ready`;
/** The one route of the bare Nest app, baseline (a). */
export const BARE_PATH = `${API}/bench/ping`;
/** The one route of the bare JWT app, baseline (a') of bench:jwt-floor. */
export const BARE_JWT_PATH = `${API}/bench/me`;

/** A password of the bench accounts: long, not in the common-password list. */
export const BENCH_PASSWORD = 'bench-Kq7-unusual-passphrase-42';

/** `env[name]` as a positive integer, `fallback` when unset; throws when it is anything else. */
export function positiveInteger(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer (got "${raw}")`);
  }
  return value;
}

/** BENCH_* knobs and the database/Redis to use. */
export function readSettings(env) {
  const duration = positiveInteger(env, 'BENCH_DURATION', 10);
  const connections = positiveInteger(env, 'BENCH_CONNECTIONS', 10);
  const warmup = positiveInteger(env, 'BENCH_WARMUP', 3);
  // GET /users/me and its baseline alternate in rounds of at least a second.
  const rounds = Math.min(positiveInteger(env, 'BENCH_ROUNDS', 10), duration);
  // /users/me and (a) for a duration each; login, refresh and register and their baselines
  // twice each (ABBA); the warm-ups, boots, seeding and slack. BENCH_TIMEOUT (seconds) overrides.
  const expected = 14 * duration + 8 * warmup + 240;
  return {
    duration,
    connections,
    warmup,
    rounds,
    timeoutSeconds: positiveInteger(env, 'BENCH_TIMEOUT', expected),
    databaseUrl: nonEmpty(env.DATABASE_URL),
    redisUrl: nonEmpty(env.REDIS_URL),
    threadpoolSize: positiveInteger(env, 'UV_THREADPOOL_SIZE', 4),
    // A variant only: the headline numbers are the shipped default's (info, request lines on).
    logLevel: logLevel(env.BENCH_LOG_LEVEL),
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(raw) {
  const value = nonEmpty(raw);
  if (value !== undefined && !LOG_LEVELS.includes(value)) {
    throw new Error(`BENCH_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
  }
  return value;
}

function nonEmpty(value) {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * The app's own defaults for every variable it reads (from the compiled configuration class of
 * `build`, dist/ by default), so the bench never picks up a developer's .env or shell settings,
 * and argon2 runs with the production parameters exactly.
 */
export function appDefaults(build = path.join(ROOT, 'dist')) {
  if (!existsSync(path.join(build, 'src/main.js'))) {
    throw new Error(`${build}/src/main.js is missing: run \`npm run bench\`, which builds first`);
  }
  const require = createRequire(import.meta.url);
  const { EnvironmentVariables } = require(path.join(build, 'src/config/environment.js'));
  const defaults = {};
  for (const [name, value] of Object.entries(new EnvironmentVariables())) {
    // An optional variable's field exists unset: empty means "not set" to the app.
    defaults[name] = value === undefined ? '' : String(value);
  }
  // Optional variables without a field: empty means "not set" to the app.
  for (const name of [
    'DATABASE_URL',
    'REDIS_URL',
    'JWT_SECRET',
    'JWT_PRIVATE_KEY',
    'JWT_PRIVATE_KEY_FILE',
    'JWT_PREVIOUS_PUBLIC_KEYS',
    'SWAGGER_ENABLED',
    'METRICS_PORT',
  ]) {
    defaults[name] = '';
  }
  return defaults;
}

/**
 * What the bench changes from the defaults, and why; nothing else. LOG_LEVEL stays at the
 * default (info: a line per request) and SWAGGER_ENABLED unset (production serves no docs)
 * unless BENCH_LOG_LEVEL asks for a variant.
 */
export function appOverrides({ port, database, redisUrl, logLevel, smtpUrl }) {
  return {
    NODE_ENV: 'production',
    // Random keys: production refuses guessable ones.
    JWT_SECRET: randomBytes(48).toString('base64url'),
    AUDIT_KEY: randomBytes(32).toString('base64url'),
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ...(logLevel === undefined ? {} : { LOG_LEVEL: logLevel }),
    HOST: '127.0.0.1',
    PORT: String(port),
    // Rate limits on, as production must run them, but so high that one load generator on one
    // address is never refused: the numbers measure the service with its limiter, not 429s.
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_IP_PER_MINUTE: '100000',
    RATE_LIMIT_ACCOUNT_PER_MINUTE: '100000',
    ...database.env,
    REDIS_URL: redisUrl ?? '',
    // Production mails through SMTP with https links (SPEC §8): to the bench's sink (smtp-sink.mjs).
    SMTP_URL: smtpUrl,
    MAIL_FROM: 'Identity bench <bench@example.com>',
    PUBLIC_URL: 'https://id.example.com',
  };
}

/** Only what a Node process needs from the parent's environment, plus the app's settings. */
export function childEnvironment(settings, variables = {}) {
  const base = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    if (process.env[name] !== undefined) base[name] = process.env[name];
  }
  return { ...base, UV_THREADPOOL_SIZE: String(settings.threadpoolSize), ...variables };
}
