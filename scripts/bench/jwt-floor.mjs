#!/usr/bin/env node
// `npm run bench:jwt-floor`: how much of the bare app's speed GET /users/me can keep at most
// while passport-jwt verifies every request. Starts the built app (dist/, shipped defaults), the
// bare Nest app (a) and the bare app with passport-jwt (a', bare-jwt-app.mjs: the same libraries
// verifying the app's own token, nothing else), then loads the three in turn in short rounds.
// Prints the medians of the rounds' ratios: app ÷ (a) (the target's ratio), (a') ÷ (a) (the
// libraries' ceiling for it) and app ÷ (a') (the rest of the service against the libraries
// alone), with the CPU time per request of each. See docs/benchmarks.md, "The JWT floor".
//
// BENCH_ROUNDS (default 25), BENCH_ROUND_SECONDS (1), BENCH_CONNECTIONS (10), BENCH_WARMUP (3);
// DATABASE_URL and REDIS_URL as for `npm run bench`. Exit code 1 if any request failed.
import { APP_ENTRY, positiveInteger, readSettings } from './config.mjs';
import { createDatabase } from './database.mjs';
import { measure, medianOf, runBounded } from './rounds.mjs';
import { number } from './report.mjs';
import { seedAccounts, usersMe } from './scenarios.mjs';
import { startApp, startBareApp, startBareJwtApp } from './servers.mjs';

const settings = readSettings(process.env);
const rounds = positiveInteger(process.env, 'BENCH_ROUNDS', 25);
const roundSeconds = positiveInteger(process.env, 'BENCH_ROUND_SECONDS', 1);
let database;

async function main() {
  console.log(
    `GET /users/me against (a) bare Nest and (a') bare Nest + passport-jwt; ${rounds} rounds ` +
      `of ${roundSeconds} s each, ${settings.connections} connections, ` +
      `${settings.databaseUrl === undefined ? 'SQLite' : 'PostgreSQL'}`,
  );
  database = await createDatabase(settings.databaseUrl);
  const started = await startApp(settings, { entry: APP_ENTRY, database, label: 'app' });
  const { accessToken } = await seedAccounts(started.baseUrl);
  const app = { label: 'app', ...started, request: usersMe(accessToken) };
  const bare = { label: 'a', ...(await startBareApp(settings)) };
  const bareJwt = { label: "a'", ...(await startBareJwtApp(settings, started.jwt, accessToken)) };
  const direct = { ...bareJwt, label: "a''", request: bareJwt.directRequest };
  const targets = [app, bare, bareJwt, direct];
  for (const target of targets)
    await measure(target, { connections: settings.connections, seconds: settings.warmup });

  const rows = [];
  for (let round = 0; round < rounds; round += 1) {
    // Each one first in turn, so none always runs right after the same other.
    const order = targets.map((_, index) => targets[(index + round) % targets.length]);
    const results = {};
    for (const target of order)
      results[target.label] = await measure(target, {
        connections: settings.connections,
        seconds: roundSeconds,
      });
    const row = {
      app: results.app.perSecond / results.a.perSecond,
      ceiling: results["a'"].perSecond / results.a.perSecond,
      direct: results["a''"].perSecond / results.a.perSecond,
      rest: results.app.perSecond / results["a''"].perSecond,
      results,
    };
    rows.push(row);
    console.log(
      `round ${String(round + 1).padStart(2)}: app ${number(results.app.perSecond, 0)}/s, ` +
        `(a) ${number(results.a.perSecond, 0)}/s, (a') ${number(results["a'"].perSecond, 0)}/s, ` +
        `(a'') ${number(results["a''"].perSecond, 0)}/s; app/(a) ${number(row.app, 3)}, ` +
        `(a'')/(a) ${number(row.direct, 3)}`,
    );
  }
  const ratio = (key) => number(medianOf(rows.map((row) => row[key])), 3);
  const cpu = (label) => number(medianOf(rows.map((row) => row.results[label].cpuPerRequest)), 1);
  console.log(
    `\nmedians of ${rounds} rounds:\n` +
      `  app ÷ (a)     ${ratio('app')}   GET /users/me against the bare app (target 0.60)\n` +
      `  (a') ÷ (a)    ${ratio('ceiling')}   passport-jwt through @nestjs/passport's AuthGuard, nothing else\n` +
      `  (a'') ÷ (a)   ${ratio('direct')}   passport-jwt run as the service runs it, nothing else: the ceiling\n` +
      `  app ÷ (a'')   ${ratio('rest')}   the service against the libraries alone\n` +
      `  CPU per request: app ${cpu('app')} µs, (a) ${cpu('a')} µs, (a') ${cpu("a'")} µs, ` +
      `(a'') ${cpu("a''")} µs`,
  );
  return 0;
}

// Bounded: boots, warm-ups and the rounds, with slack.
runBounded('bench:jwt-floor', main, {
  cleanUp: async () => {
    if (database !== undefined) await database.drop();
  },
  timeoutSeconds: 120 + 4 * settings.warmup + rounds * 4 * (roundSeconds + 1),
});
