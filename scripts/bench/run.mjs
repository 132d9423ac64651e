#!/usr/bin/env node
// `npm run bench` (issues 6 and 14, SPEC §7): starts the built app with the shipped production
// defaults (LOG_LEVEL=info: a log line per request, written to a file) on a throwaway database,
// measures four requests under load, and measures in the same run the baselines they are
// judged against:
//   GET  /users/me      vs (a)  a bare Nest-on-Fastify app, one GET route    target >= 0.60
//   POST /auth/login    vs (b)  argon2id verifications/s, no HTTP            target >= 0.90
//   POST /auth/refresh  vs (c)  the rotation's SQL through the bare driver   target >= 0.60
//   POST /auth/register vs (b') argon2id hashes/s, no HTTP                   (no target)
// and the app's RSS after warm-up against after the run (target: at most 20% growth).
// Each baseline runs right before its scenario, so drift on a shared machine hits both alike.
// Prints a table and writes bench-results/<timestamp>.json. Exit code 1 if any request failed
// (connection error, timeout or non-2xx) or anything broke; targets are reported, not enforced.
// See docs/benchmarks.md.
import { availableParallelism, cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_ENTRY, appDefaults, BENCH_DIR, childEnvironment, readSettings } from './config.mjs';
import { createDatabase } from './database.mjs';
import { load, stopLoad } from './load.mjs';
import { runScript, stopAll, watchMemory } from './processes.mjs';
import { describe, failuresOf, formatTable, number, writeJson } from './report.mjs';
import { correctLogin, refreshChains, registrations, seedAccounts, usersMe } from './scenarios.mjs';
import { startApp, startBareApp } from './servers.mjs';
import { median } from './stats.mjs';

const settings = readSettings(process.env);
const defaults = appDefaults();
// The app's own defaults (production's): never lowered for the bench.
const argon2 = {
  memoryKib: Number(defaults.ARGON2_MEMORY_KIB),
  timeCost: Number(defaults.ARGON2_TIME_COST),
  parallelism: Number(defaults.ARGON2_PARALLELISM),
};
const SETTLE_MS = 1000;

const SCENARIOS = [
  {
    name: 'GET /users/me',
    baseline: 'a',
    target: 0.6,
    request: (context) => usersMe(context.accessToken),
  },
  { name: 'POST /auth/login', baseline: 'b', target: 0.9, request: () => correctLogin() },
  {
    name: 'POST /auth/refresh',
    baseline: 'c',
    target: 0.6,
    request: (context) => refreshChains(context.baseUrl, settings.connections),
  },
  { name: 'POST /auth/register', baseline: "b'", target: null, request: () => registrations() },
];

const BASELINES = {
  // Measured in rounds alternating with its scenario (see measureInterleaved).
  a: { name: 'bare Nest+Fastify GET', interleaved: true, start: () => startBareApp(settings) },
  b: { name: 'argon2id verify, no HTTP', measure: () => argon2Ceiling('verify') },
  c: { name: 'rotation SQL, bare driver', measure: rotationSql },
  "b'": { name: 'argon2id hash, no HTTP', measure: () => argon2Ceiling('hash') },
};

// What the cleanup needs to find, whatever the point of failure.
const state = { database: null, exiting: false };

/** Kills every child, drops the database and exits. Runs once. */
async function shutdown(code, reason) {
  if (state.exiting) return;
  state.exiting = true;
  if (reason !== undefined) console.error(`\nbench: ${reason}; cleaning up`);
  stopLoad();
  try {
    await stopAll();
    await state.database?.drop();
  } catch (error) {
    console.error(`bench: cleanup failed: ${error.message}`);
    code = 1;
  }
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(130, 'interrupted'));
process.on('SIGTERM', () => void shutdown(143, 'terminated'));
setTimeout(
  () => void shutdown(1, `no result after ${settings.timeoutSeconds} s (BENCH_TIMEOUT)`),
  settings.timeoutSeconds * 1000,
).unref();

main().then(
  (code) => shutdown(code),
  (error) => {
    console.error(
      `\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
    );
    return shutdown(1);
  },
);

async function main() {
  const report = newReport();
  printPlan(report);

  state.database = await createDatabase(settings.databaseUrl);
  report.database = state.database.kind;
  const app = await startAppOn(state.database);
  const memory = watchMemory(app.pid);
  const context = { baseUrl: app.baseUrl, ...(await seedAccounts(app.baseUrl)) };

  console.log(`\nwarm-up: every scenario for ${settings.warmup} s`);
  for (const scenario of SCENARIOS) {
    const result = await load(
      app.baseUrl,
      loadShape(settings.warmup),
      await scenario.request(context),
    );
    report.warmup.push({ name: scenario.name, ...result });
    await sleep(SETTLE_MS);
  }
  report.memory.afterWarmupMiB = memory.current();

  for (const scenario of SCENARIOS) {
    report.scenarios.push(await measureScenario(scenario, context, report.baselines));
  }
  report.memory.afterRunMiB = memory.current();
  report.memory.peakMiB = memory.peak();
  report.memory.ratio = report.memory.afterRunMiB / report.memory.afterWarmupMiB;
  memory.stop();
  await app.stop();
  report.appLog = appLogOf(app, report);
  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAfter = loadavg();

  return finish(report);
}

function newReport() {
  return {
    startedAt: new Date().toISOString(),
    command: commandLine(),
    machine: {
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverageBefore: loadavg(),
    },
    settings: {
      durationSeconds: settings.duration,
      warmupSeconds: settings.warmup,
      rounds: settings.rounds,
      connections: settings.connections,
      threadpoolSize: settings.threadpoolSize,
      argon2,
      logLevel: appLogLevel(),
      log: 'stdout and stderr to a file in a temporary directory',
      rateLimits: 'on, 100,000 a minute per IP and per account',
      redis: settings.redisUrl !== undefined,
    },
    database: null,
    warmup: [],
    scenarios: [],
    baselines: {},
    memory: { afterWarmupMiB: null, afterRunMiB: null, ratio: null, peakMiB: null, target: 1.2 },
  };
}

/** The command that reproduces this run, without secrets. */
function commandLine() {
  const variables = [
    'DATABASE_URL',
    'REDIS_URL',
    'BENCH_DURATION',
    'BENCH_CONNECTIONS',
    'BENCH_WARMUP',
    'BENCH_ROUNDS',
    'BENCH_LOG_LEVEL',
  ]
    .filter((name) => (process.env[name] ?? '') !== '')
    .map((name) => `${name}=${withoutPassword(process.env[name])}`);
  return [...variables, 'npm run bench'].join(' ');
}

function withoutPassword(value) {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}

function printPlan(report) {
  const { machine } = report;
  console.log(`bench: ${report.command}`);
  console.log(
    `machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ` +
      `load average ${machine.loadAverageBefore.map((load) => load.toFixed(2)).join(' ')}`,
  );
  console.log(
    `app: NODE_ENV=production, LOG_LEVEL=${appLogLevel()}` +
      (settings.logLevel === undefined
        ? ' (the default: a line per request)'
        : ' (BENCH_LOG_LEVEL: a variant, not the shipped default)') +
      `, Swagger off (production's default), stdout to a file, ` +
      `argon2id m=${argon2.memoryKib} KiB t=${argon2.timeCost} p=${argon2.parallelism}, ` +
      `UV_THREADPOOL_SIZE=${settings.threadpoolSize}, ` +
      `database ${settings.databaseUrl === undefined ? 'SQLite (temp file)' : 'PostgreSQL (throwaway database)'}, ` +
      `Redis ${settings.redisUrl === undefined ? 'off' : 'on'}`,
  );
  console.log(
    'app: rate limits on at 100,000 a minute per IP and per account, so 429s do not cap the numbers',
  );
  console.log('baseline (a): a bare Nest+Fastify app without a logger');
  console.log(
    `each scenario and baseline: ${settings.connections} connections for ${settings.duration} s ` +
      `after a ${settings.warmup} s warm-up; whole run bounded to ${settings.timeoutSeconds} s`,
  );
  console.log(
    `GET /users/me and baseline (a) alternate in ${settings.rounds} rounds of ` +
      `${(settings.duration / settings.rounds).toFixed(1)} s each; ratio: the median of the rounds'`,
  );
}

/** The LOG_LEVEL the app runs with: the default, or BENCH_LOG_LEVEL's variant. */
function appLogLevel() {
  return settings.logLevel ?? defaults.LOG_LEVEL;
}

/**
 * What the app wrote to its log file, and how many answers the load generator counted (the
 * app's request lines also count the seeding, the readiness probes and the requests in flight
 * when a load stopped, so they are a few more).
 */
function appLogOf(app, report) {
  const log = app.output();
  const answers = [...report.warmup, ...report.scenarios].reduce(
    (total, result) => total + result.operations,
    0,
  );
  return { ...log, answersCounted: answers };
}

function loadShape(seconds) {
  return { connections: settings.connections, seconds };
}

async function startAppOn(database) {
  const app = await startApp(settings, { entry: APP_ENTRY, database });
  console.log(`\nthe app is up on ${app.baseUrl} (${database.label})`);
  return app;
}

/**
 * A scenario against its baseline. (a) alternates with its scenario in short rounds
 * (measureInterleaved); the others run in the order baseline, scenario, scenario, baseline,
 * BENCH_DURATION s each ("ABBA"): a drift of the machine's speed that is steady over the four
 * blocks weighs on both sides alike, where one block each would charge it to one side. Their
 * blocks stay long, because requests in flight when a block ends (up to a hash per connection)
 * are not counted and still cost the server a moment after it.
 */
async function measureScenario(scenario, context, baselines) {
  const key = scenario.baseline;
  if (BASELINES[key].interleaved) return measureInterleaved(scenario, context, baselines);
  console.log(
    `\n${scenario.name} (${settings.connections} connections) and baseline (${key}) ` +
      `${BASELINES[key].name}: ${key}, scenario, scenario, ${key}; ${settings.duration} s each`,
  );
  const blocks = { baseline: [], scenario: [] };
  for (const side of ['baseline', 'scenario', 'scenario', 'baseline']) {
    if (side === 'baseline') {
      const result = await BASELINES[key].measure();
      blocks.baseline.push(result);
      console.log(`  (${key}): ${describe(result).trim().slice(3)}`);
      continue;
    }
    // A fresh request set per block: refresh chains lose the tokens in flight when a block ends.
    const request = await scenario.request(context);
    const result = await load(context.baseUrl, loadShape(settings.duration), request);
    blocks.scenario.push(result);
    console.log(`  scenario: ${describe(result).trim().slice(3)}`);
    // Requests in flight when the load stopped still finish on the server (a login: up to a
    // hash per connection); let them, so they do not weigh on the next measurement.
    await sleep(SETTLE_MS);
  }
  const baseline = recordBaseline(baselines, key, blocks.baseline[0].concurrency, blocks.baseline);
  const result = combineRounds(blocks.scenario);
  return scenarioLine(scenario, result, baseline, result.perSecond / baseline.perSecond);
}

/** Stores a baseline's blocks or rounds, combined, in the report's baselines. */
function recordBaseline(baselines, key, concurrency, results) {
  baselines[key] = { key, name: BASELINES[key].name, concurrency, ...combineRounds(results) };
  return baselines[key];
}

/** A scenario's line of the report: its combined result, its baseline and their ratio. */
function scenarioLine(scenario, result, baseline, ratio) {
  return {
    name: scenario.name,
    connections: settings.connections,
    ...result,
    baseline: { key: baseline.key, name: baseline.name, perSecond: baseline.perSecond },
    ratio,
    target: scenario.target,
  };
}

/**
 * A scenario and its HTTP baseline in BENCH_ROUNDS alternating rounds that together last the
 * scenario's duration (each side gets the whole duration). A shared machine's speed drifts by
 * tens of percent within seconds: measured a second apart, both sides see the same drift, so
 * each round's ratio is sound, and the median of the rounds' ratios is not swayed by one
 * disturbed round. req/s are totals over all rounds; p50 is the rounds' median, p99 their
 * highest.
 */
async function measureInterleaved(scenario, context, baselines) {
  const key = scenario.baseline;
  const request = await scenario.request(context);
  const rounds = settings.rounds;
  const seconds = settings.duration / rounds;
  console.log(
    `\nbaseline (${key}) ${BASELINES[key].name} and ${scenario.name}: ${rounds} alternating ` +
      `rounds of ${number(seconds)} s each, ${settings.connections} connections`,
  );
  const bare = await BASELINES[key].start();
  try {
    await load(bare.baseUrl, loadShape(settings.warmup), bare.request);
    const sides = { baseline: [], scenario: [] };
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? ['baseline', 'scenario'] : ['scenario', 'baseline'];
      for (const side of order) {
        const result =
          side === 'baseline'
            ? await load(bare.baseUrl, loadShape(seconds), bare.request)
            : await load(context.baseUrl, loadShape(seconds), request);
        sides[side].push(result);
      }
      const ratio = sides.scenario[round].perSecond / sides.baseline[round].perSecond;
      console.log(
        `  round ${round + 1}: ${number(sides.baseline[round].perSecond)}/s (${key}), ` +
          `${number(sides.scenario[round].perSecond)}/s, ratio ${number(ratio, 3)}`,
      );
    }
    const baseline = recordBaseline(baselines, key, settings.connections, sides.baseline);
    const ratios = sides.scenario.map(
      (side, round) => side.perSecond / sides.baseline[round].perSecond,
    );
    return {
      ...scenarioLine(scenario, combineRounds(sides.scenario), baseline, median(ratios)),
      rounds: sides.scenario.map((side, round) => ({
        perSecond: side.perSecond,
        baselinePerSecond: sides.baseline[round].perSecond,
      })),
    };
  } finally {
    await bare.stop();
  }
}

/**
 * Results of several rounds or blocks as one: totals, the median p50, the highest p99. Load
 * results also add up their failures and status codes; the scripts' have none.
 */
function combineRounds(results) {
  const sum = (field) => results.reduce((total, result) => total + (result[field] ?? 0), 0);
  const combined = {
    operations: sum('operations'),
    seconds: sum('seconds'),
    perSecond: sum('operations') / sum('seconds'),
    p50: median(results.map((result) => result.p50)),
    p99: Math.max(...results.map((result) => result.p99)),
  };
  if (results[0].statusCodes === undefined) return combined;
  const statusCodes = {};
  for (const result of results) {
    for (const [code, count] of Object.entries(result.statusCodes)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
    }
  }
  return {
    ...combined,
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    non2xx: sum('non2xx'),
    statusCodes,
  };
}

/** (b)/(b'): enough operations in flight to keep every threadpool thread busy. */
function argon2Ceiling(mode) {
  const concurrency = Math.max(settings.connections, settings.threadpoolSize);
  return runScript(
    `argon2 ${mode} ceiling`,
    [
      path.join(BENCH_DIR, 'argon2-ceiling.mjs'),
      ...['--mode', mode, '--seconds', String(settings.duration)],
      ...['--concurrency', String(concurrency), '--memory', String(argon2.memoryKib)],
      ...['--time', String(argon2.timeCost), '--parallelism', String(argon2.parallelism)],
    ],
    childEnvironment(settings),
    scriptTimeout(),
  );
}

/** (c): against the app's own database (its schema and rows), while the app idles. */
function rotationSql() {
  return runScript(
    'rotation SQL',
    [
      path.join(BENCH_DIR, 'rotation-sql.mjs'),
      ...['--username', 'bench-refresh', '--seconds', String(settings.duration)],
      ...['--warmup', String(settings.warmup), '--concurrency', String(settings.connections)],
    ],
    childEnvironment(settings, state.database.env),
    scriptTimeout(),
  );
}

function scriptTimeout() {
  return (settings.duration + settings.warmup) * 1000 + 60_000;
}

function finish(report) {
  console.log(`\n${formatTable(report)}`);
  const log = report.appLog;
  console.log(
    `\napp log (LOG_LEVEL=${report.settings.logLevel}, a file): ${log.lines} lines, ` +
      `${log.requestLines} of them request lines, ${number(log.bytes / 2 ** 20, 1)} MiB; ` +
      `the load generator counted ${log.answersCounted} answers`,
  );
  for (const line of log.tail.slice(-3)) console.log(`  ${line}`);
  console.log(`\nresults: ${writeJson(report)}`);

  const failed = [
    ...report.warmup.map((result) => ({ ...result, name: `${result.name} (warm-up)` })),
    ...report.scenarios,
    ...Object.values(report.baselines).filter((baseline) => baseline.non2xx !== undefined),
  ].filter((result) => failuresOf(result) > 0);
  for (const result of failed) {
    console.log(
      `FAILED: ${result.name}: ${result.errors} connection errors, ${result.timeouts} timeouts, ` +
        `${result.non2xx} non-2xx; status codes ${JSON.stringify(result.statusCodes)}`,
    );
  }
  return failed.length > 0 ? 1 : 0;
}
