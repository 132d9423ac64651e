#!/usr/bin/env node
// `npm run timing:forgot` (issue 16, SPEC §8): can an attacker tell from the time
// `POST /auth/password/forgot` takes whether an account has the address? Starts the BUILT app
// with production settings on a throwaway database, as `npm run timing:login` does (mails go to
// the bench's SMTP sink), registers TIMING_ACCOUNTS (20) accounts, then interleaves, one request
// at a time and alternating which goes first, TIMING_SAMPLES (1000) requests for their addresses
// with as many for addresses no account has. Prints both medians, their difference and ratio;
// exit code 1 if the medians differ by more than TIMING_TOLERANCE (0.10) or an answer was not
// 202. DATABASE_URL (postgres://...) runs it on a new database on that server.
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

// More than timing:login's 200: these answers take a few ms, where the machine's noise is as large.
const samples = positiveInteger(process.env, 'TIMING_SAMPLES', 1000);
const warmup = positiveInteger(process.env, 'TIMING_WARMUP', 20);
const accountCount = positiveInteger(process.env, 'TIMING_ACCOUNTS', 20);
const tolerance = Number(process.env.TIMING_TOLERANCE ?? '0.10');
const timeoutSeconds = positiveInteger(process.env, 'TIMING_TIMEOUT', 300);
const databaseUrl = (process.env.DATABASE_URL ?? '').trim() || undefined;
const defaults = appDefaults();

const watchdog = setTimeout(() => {
  console.error(`timing:forgot: still running after ${timeoutSeconds} s; giving up`);
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
    // Rate limits on (both paths count the IP and the address's bucket), out of reach.
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
  const emails = [];
  for (let index = 0; index < accountCount; index++) {
    const username = `forgot-${index}-${randomBytes(3).toString('hex')}`;
    const email = `${username}@example.com`;
    const created = await post(baseUrl, '/auth/register', {
      username,
      email,
      password: BENCH_PASSWORD,
    });
    if (created.status !== 201) throw new Error(`registering ${username}: ${created.status}`);
    emails.push(email);
  }
  const known = [];
  const unknown = [];
  const unexpected = [];
  for (let round = 0; round < warmup + samples; round++) {
    // Alternate which goes first, so neither always follows the other (nor its queued mail).
    const order = round % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known'];
    for (const kind of order) {
      const email =
        kind === 'known'
          ? emails[round % emails.length]
          : `nobody-${round}-${randomBytes(4).toString('hex')}@example.com`;
      const result = await post(baseUrl, '/auth/password/forgot', { email });
      if (result.status !== 202) unexpected.push(`${kind} ${email}: ${result.status}`);
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
    `${samples} samples each after ${warmup} warm-up rounds, ${accountCount} real accounts`,
  );
  console.log(`existing account: median ${knownMedian.toFixed(2)} ms`);
  console.log(`unknown address:  median ${unknownMedian.toFixed(2)} ms`);
  console.log(
    `difference unknown - existing: ${(unknownMedian - knownMedian).toFixed(2)} ms; ` +
      `ratio ${ratio.toFixed(3)} (${within ? 'within' : 'OUTSIDE'} ±${tolerance * 100}%)`,
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
