#!/usr/bin/env node
// `npm run timing:login` (issue 13 item 5, SPEC §5): can an attacker tell an unknown login name
// from a real account by the time a failed login takes? Starts the BUILT app with production
// settings (argon2 at the app's own defaults) on a throwaway database, like `npm run bench`,
// then interleaves, one request at a time, TIMING_SAMPLES (200) wrong-password logins for real
// accounts with as many logins for names no account has. Prints both medians and their ratio;
// exit code 1 if the medians differ by more than TIMING_TOLERANCE (0.10) or a request did not
// answer 401. DATABASE_URL (postgres://...) runs it on a new database on that server.
// Not a test: timings on a shared machine are for a benchmark, never for `npm test`.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import {
  API,
  APP_ENTRY,
  appDefaults,
  appOverrides,
  BENCH_PASSWORD,
  childEnvironment,
  positiveInteger,
  READY_PATH,
} from '../bench/config.mjs';
import { createDatabase } from '../bench/database.mjs';
import { freePort, startServer, stopAll } from '../bench/processes.mjs';
import { smtpSink } from '../bench/smtp-sink.mjs';
import { median } from '../bench/stats.mjs';

const samples = positiveInteger(process.env, 'TIMING_SAMPLES', 200);
const warmup = positiveInteger(process.env, 'TIMING_WARMUP', 20);
const tolerance = Number(process.env.TIMING_TOLERANCE ?? '0.10');
const timeoutSeconds = positiveInteger(process.env, 'TIMING_TIMEOUT', 300);
const databaseUrl = (process.env.DATABASE_URL ?? '').trim() || undefined;
const defaults = appDefaults();
// Wrong passwords per real account: under the lockout threshold, so every sample is the
// "wrong password, account not locked" path (a locked account answers like an unknown name).
const perAccount = Number(defaults.LOCKOUT_THRESHOLD) - 1;

const watchdog = setTimeout(() => {
  console.error(`timing:login: still running after ${timeoutSeconds} s; giving up`);
  void stopAll().finally(() => process.exit(2));
}, timeoutSeconds * 1000);
watchdog.unref();

async function post(baseUrl, path, body) {
  const started = performance.now();
  const response = await globalThis.fetch(`${baseUrl}${API}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

async function main() {
  const database = await createDatabase(databaseUrl);
  try {
    // As the bench starts the app (scripts/bench/servers.mjs): rate limits on (both paths
    // consult them the same way), so high that one address sending every sample is never refused.
    const port = await freePort();
    const redisUrl = (process.env.REDIS_URL ?? '').trim() || undefined;
    const env = childEnvironment(
      { threadpoolSize: positiveInteger(process.env, 'UV_THREADPOOL_SIZE', 4) },
      {
        ...defaults,
        ...appOverrides({ port, database, redisUrl, smtpUrl: (await smtpSink()).url }),
      },
    );
    const baseUrl = `http://127.0.0.1:${port}`;
    await startServer('app', [APP_ENTRY], env, `${baseUrl}${READY_PATH}`);
    return await measure(baseUrl, database.label);
  } finally {
    await stopAll();
    await database.drop();
  }
}

async function measure(baseUrl, databaseLabel) {
  const accounts = Math.ceil((samples + warmup) / perAccount);
  const names = [];
  for (let index = 0; index < accounts; index++) {
    const username = `timing-${index}-${randomBytes(3).toString('hex')}`;
    const created = await post(baseUrl, '/auth/register', {
      username,
      email: `${username}@example.com`,
      password: BENCH_PASSWORD,
    });
    if (created.status !== 201) throw new Error(`registering ${username}: ${created.status}`);
    names.push(username);
  }
  const known = [];
  const unknown = [];
  const unexpected = [];
  for (let round = 0; round < warmup + samples; round++) {
    const account = names[Math.floor(round / perAccount)];
    // Alternate which goes first, so neither always follows the other.
    const order = round % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known'];
    for (const kind of order) {
      const username =
        kind === 'known' ? account : `nobody-${round}-${randomBytes(4).toString('hex')}`;
      const result = await post(baseUrl, '/auth/login', {
        username,
        password: 'wrong-Zp4-passphrase-17',
      });
      if (result.status !== 401) unexpected.push(`${kind} ${username}: ${result.status}`);
      if (round >= warmup) (kind === 'known' ? known : unknown).push(result.ms);
    }
  }
  const knownMedian = median(known);
  const unknownMedian = median(unknown);
  const ratio = unknownMedian / knownMedian;
  const within = Math.abs(ratio - 1) <= tolerance;
  console.log(`database:  ${databaseLabel}`);
  console.log(
    `machine:   ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `argon2id:  m=${defaults.ARGON2_MEMORY_KIB} KiB, t=${defaults.ARGON2_TIME_COST}, ` +
      `p=${defaults.ARGON2_PARALLELISM}; ${samples} samples each after ${warmup} warm-up rounds`,
  );
  console.log(`wrong password, real account: median ${knownMedian.toFixed(2)} ms`);
  console.log(`unknown name:                 median ${unknownMedian.toFixed(2)} ms`);
  console.log(
    `ratio unknown/known: ${ratio.toFixed(3)} (${within ? 'within' : 'OUTSIDE'} ±${tolerance * 100}%)`,
  );
  if (unexpected.length > 0)
    console.log(`unexpected answers: ${unexpected.slice(0, 5).join('; ')}`);
  return within && unexpected.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
