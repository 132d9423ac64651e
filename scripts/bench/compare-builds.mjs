#!/usr/bin/env node
// `npm run bench:compare -- <baseline build>`: is a change to the GET /users/me path faster?
// Starts two builds of the app side by side (the baseline, e.g. a copy of dist/ made before the
// change, and dist/ as built now), each on its own throwaway database, and the bare Nest app
// (baseline (a) of `npm run bench`), then loads them in turn in short alternating rounds. A
// shared machine's speed drifts by tens of percent within seconds; builds measured a second
// apart see the same drift, so the per-round ratio candidate / baseline is stable where either
// number alone is not. Prints every round and the medians. See docs/benchmarks.md.
//
//   cp -r dist dist-base            # before the change (dist-*/ is git-ignored)
//   ...change, then:
//   npm run bench:compare -- dist-base
//
// BENCH_ROUNDS (default 25), BENCH_ROUND_SECONDS (1), BENCH_CONNECTIONS (10); DATABASE_URL and
// REDIS_URL as for `npm run bench`. Exit code 1 if any request failed.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { positiveInteger, readSettings, ROOT } from './config.mjs';
import { createDatabase } from './database.mjs';
import { measure, medianOf, runBounded } from './rounds.mjs';
import { number } from './report.mjs';
import { seedAccounts, usersMe } from './scenarios.mjs';
import { startApp, startBareApp } from './servers.mjs';

const settings = readSettings(process.env);
const rounds = positiveInteger(process.env, 'BENCH_ROUNDS', 25);
const roundSeconds = positiveInteger(process.env, 'BENCH_ROUND_SECONDS', 1);
const [baselineArgument, candidateArgument = 'dist'] = process.argv.slice(2);
const databases = [];

/** main.js of a build directory (a copy of dist/), given relative to the project or absolute. */
function entryOf(directory) {
  const entry = path.join(path.resolve(ROOT, directory), 'src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: is ${directory} a copy of dist/?`);
  return entry;
}

async function startBuild(label, entry) {
  const database = await createDatabase(settings.databaseUrl);
  databases.push(database);
  const app = await startApp(settings, { entry, database, label });
  const { accessToken } = await seedAccounts(app.baseUrl);
  return { label, pid: app.pid, baseUrl: app.baseUrl, request: usersMe(accessToken) };
}

async function main() {
  if (baselineArgument === undefined) {
    console.error('usage: npm run bench:compare -- <baseline build dir> [<candidate build dir>]');
    return 2;
  }
  const baselineEntry = entryOf(baselineArgument);
  const candidateEntry = entryOf(candidateArgument);
  console.log(
    `GET /users/me: ${baselineArgument} (baseline) against ${candidateArgument} (candidate), ` +
      `and the bare Nest app; ${rounds} rounds of ${roundSeconds} s each, ` +
      `${settings.connections} connections, ` +
      `${settings.databaseUrl === undefined ? 'SQLite' : 'PostgreSQL'}`,
  );
  const baseline = await startBuild('baseline', baselineEntry);
  const candidate = await startBuild('candidate', candidateEntry);
  const bare = { label: 'bare', ...(await startBareApp(settings)) };
  for (const target of [baseline, candidate, bare])
    await measure(target, { connections: settings.connections, seconds: settings.warmup });

  const rows = [];
  for (let round = 0; round < rounds; round += 1) {
    // The two builds back to back, in alternating order, so neither always goes first.
    const order = round % 2 === 0 ? [baseline, candidate, bare] : [candidate, baseline, bare];
    const results = {};
    for (const target of order)
      results[target.label] = await measure(target, {
        connections: settings.connections,
        seconds: roundSeconds,
      });
    const row = {
      speed: results.candidate.perSecond / results.baseline.perSecond,
      cpu:
        results.candidate.cpuPerRequest === null || results.baseline.cpuPerRequest === null
          ? null
          : results.candidate.cpuPerRequest / results.baseline.cpuPerRequest,
      baselineRatio: results.baseline.perSecond / results.bare.perSecond,
      candidateRatio: results.candidate.perSecond / results.bare.perSecond,
      results,
    };
    rows.push(row);
    console.log(
      `round ${String(round + 1).padStart(2)}: ` +
        `baseline ${number(results.baseline.perSecond, 0)}/s ` +
        `(${number(results.baseline.cpuPerRequest, 1)} µs), ` +
        `candidate ${number(results.candidate.perSecond, 0)}/s ` +
        `(${number(results.candidate.cpuPerRequest, 1)} µs), ` +
        `bare ${number(results.bare.perSecond, 0)}/s; candidate/baseline ${number(row.speed, 3)}`,
    );
  }
  const cpu = (label) => medianOf(rows.map((row) => row.results[label].cpuPerRequest));
  console.log(
    `\nmedians of ${rounds} rounds:\n` +
      `  candidate/baseline req/s        ${number(medianOf(rows.map((row) => row.speed)), 3)}\n` +
      `  candidate/baseline CPU/request  ${number(medianOf(rows.map((row) => row.cpu)), 3)}\n` +
      `  ratio to bare (a): baseline ${number(medianOf(rows.map((row) => row.baselineRatio)), 3)}, ` +
      `candidate ${number(medianOf(rows.map((row) => row.candidateRatio)), 3)}\n` +
      `  CPU per request: baseline ${number(cpu('baseline'), 1)} µs, ` +
      `candidate ${number(cpu('candidate'), 1)} µs, bare ${number(cpu('bare'), 1)} µs`,
  );
  return 0;
}

// Bounded: boots, warm-ups and the rounds, with slack.
runBounded('bench:compare', main, {
  cleanUp: async () => {
    for (const database of databases) await database.drop();
  },
  timeoutSeconds: 120 + 3 * settings.warmup + rounds * 3 * (roundSeconds + 1),
});
