// What the enumeration timing scripts (timing:login, timing:forgot) share: the built app with
// production settings on a throwaway database (as `npm run bench` starts it, mails to the
// bench's SMTP sink), one timed request at a time, interleaved samples of the two paths, and
// the report of their medians. Each script says what the two paths are.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import {
  API,
  APP_ENTRY,
  appDefaults,
  appOverrides,
  childEnvironment,
  positiveInteger,
  READY_PATH,
} from '../bench/config.mjs';
import { createDatabase } from '../bench/database.mjs';
import { freePort, startServer, stopAll } from '../bench/processes.mjs';
import { smtpSink } from '../bench/smtp-sink.mjs';
import { median } from '../bench/stats.mjs';

/** The settings every timing script reads (TIMING_SAMPLES defaults differ per script). */
export function timingSettings(defaultSamples) {
  return {
    samples: positiveInteger(process.env, 'TIMING_SAMPLES', defaultSamples),
    warmup: positiveInteger(process.env, 'TIMING_WARMUP', 20),
    tolerance: Number(process.env.TIMING_TOLERANCE ?? '0.10'),
    timeoutSeconds: positiveInteger(process.env, 'TIMING_TIMEOUT', 300),
    databaseUrl: (process.env.DATABASE_URL ?? '').trim() || undefined,
  };
}

/** One JSON POST to the API, timed from send to the last byte of the answer. */
export async function post(baseUrl, path, body) {
  const started = performance.now();
  const response = await globalThis.fetch(`${baseUrl}${API}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

/**
 * Runs `measure(baseUrl, databaseLabel)` against the app and exits with its code (2 on an error
 * or after `timeoutSeconds`), cleaning up the app and the database in every case. Rate limits
 * are on (both paths consult them the same way), out of reach of one address.
 */
export function runTimed(name, settings, measure) {
  const watchdog = setTimeout(() => {
    console.error(`${name}: still running after ${settings.timeoutSeconds} s; giving up`);
    void stopAll().finally(() => process.exit(2));
  }, settings.timeoutSeconds * 1000);
  watchdog.unref();
  const main = async () => {
    const database = await createDatabase(settings.databaseUrl);
    try {
      const port = await freePort();
      const redisUrl = (process.env.REDIS_URL ?? '').trim() || undefined;
      const env = childEnvironment(
        { threadpoolSize: positiveInteger(process.env, 'UV_THREADPOOL_SIZE', 4) },
        {
          ...appDefaults(),
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
  };
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(2);
    },
  );
}

/**
 * `warmup + samples` rounds of one request per path, alternating which goes first so neither
 * always follows the other; `attempt(kind, round)` sends it for 'known' or 'unknown' and returns
 * {status, ms, label}. Answers other than `expectedStatus` are collected.
 */
export async function interleave(settings, expectedStatus, attempt) {
  const times = { known: [], unknown: [] };
  const unexpected = [];
  for (let round = 0; round < settings.warmup + settings.samples; round++) {
    const order = round % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known'];
    for (const kind of order) {
      const result = await attempt(kind, round);
      if (result.status !== expectedStatus) {
        unexpected.push(`${kind} ${result.label}: ${result.status}`);
      }
      if (round >= settings.warmup) times[kind].push(result.ms);
    }
  }
  return { ...times, unexpected };
}

/** A name no account has, for the round. */
export function unknownName(round) {
  return `nobody-${round}-${randomBytes(4).toString('hex')}`;
}

/**
 * Prints the medians of the two paths and their ratio (`labels`: how each path reads, `about`:
 * lines describing the run); 0 when within the tolerance and every answer was the expected one.
 */
export function report(settings, databaseLabel, result, { labels, about }) {
  const knownMedian = median(result.known);
  const unknownMedian = median(result.unknown);
  const ratio = unknownMedian / knownMedian;
  const within = Math.abs(ratio - 1) <= settings.tolerance;
  console.log(`database:  ${databaseLabel}`);
  console.log(
    `machine:   ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  for (const line of about) console.log(line);
  const width = Math.max(labels.known.length, labels.unknown.length) + 1;
  console.log(`${`${labels.known}:`.padEnd(width)} median ${knownMedian.toFixed(2)} ms`);
  console.log(`${`${labels.unknown}:`.padEnd(width)} median ${unknownMedian.toFixed(2)} ms`);
  console.log(
    `difference unknown - known: ${(unknownMedian - knownMedian).toFixed(2)} ms; ` +
      `ratio ${ratio.toFixed(3)} (${within ? 'within' : 'OUTSIDE'} ±${settings.tolerance * 100}%)`,
  );
  if (result.unexpected.length > 0) {
    console.log(`unexpected answers: ${result.unexpected.slice(0, 5).join('; ')}`);
  }
  return within && result.unexpected.length === 0 ? 0 : 1;
}
