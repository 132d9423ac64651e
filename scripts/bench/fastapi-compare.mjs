#!/usr/bin/env node
// `npm run bench:fastapi` (issue 14): GET /users/me on this service against the FastAPI stack it
// replaces (scripts/bench/fastapi/app.py: FastAPI + uvicorn + python-jose + SQLAlchemy on
// SQLite, as FastAPI's tutorials build it), in the same run on the same machine. Both servers
// are pinned to one core (`taskset -c 1`), the load generator (this process) to the others, and
// each answers GET /users/me with a valid token in alternating rounds; the result is the median
// of the rounds' throughput ratios, goal >= 30. Both run their shipped defaults: this service
// with NODE_ENV=production and LOG_LEVEL=info (a line per request), uvicorn with one worker and
// its access log on; both log to files. Not part of CI: if Python or the packages are missing
// it says what to install and exits 2. Exit code 1 if any request failed. See docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { setTimeout } from 'node:timers';
import { APP_ENTRY, BENCH_DIR, BENCH_PASSWORD, readSettings } from './config.mjs';
import { createDatabase } from './database.mjs';
import { load, stopLoad } from './load.mjs';
import { cpuMicroseconds, freePort, startServer, stopAll } from './processes.mjs';
import { failuresOf, number, writeJson } from './report.mjs';
import { seedAccounts, usersMe } from './scenarios.mjs';
import { startApp } from './servers.mjs';
import { median } from './stats.mjs';

const GOAL = 30;
const PACKAGES = [
  'python3-fastapi',
  'python3-uvicorn',
  'python3-jose',
  'python3-passlib',
  'python3-sqlalchemy',
  'python3-multipart',
];
// Debian's interpreter, the one the packages are for (a pyenv or venv python3 earlier on PATH
// would not see them).
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const FASTAPI_DIR = path.join(BENCH_DIR, 'fastapi');
const FASTAPI_USER = 'bench-fastapi';

const settings = readSettings({ ...process.env, DATABASE_URL: '' });
const serverCpu = process.env.BENCH_SERVER_CPU ?? '1';
const state = { databases: [], exiting: false };

async function shutdown(code) {
  if (state.exiting) return;
  state.exiting = true;
  stopLoad();
  await stopAll();
  for (const database of state.databases) await database.drop();
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(130));
setTimeout(
  () => {
    console.error('bench:fastapi: out of time');
    void shutdown(1);
  },
  (180 + 3 * settings.warmup + 2 * settings.duration + 2 * settings.rounds) * 1000,
).unref();

main().then(
  (code) => shutdown(code),
  (error) => {
    console.error(`bench:fastapi failed: ${error instanceof Error ? error.stack : error}`);
    return shutdown(1);
  },
);

/** The Python side's versions, or null (and what is missing) when it cannot run. */
function pythonStack() {
  const probe = spawnSync(
    PYTHON,
    [
      '-c',
      [
        'import json, importlib.util, sys',
        'import fastapi, uvicorn, jose, passlib, sqlalchemy, multipart, pydantic',
        'has = lambda name: importlib.util.find_spec(name) is not None',
        'print(json.dumps({"python": sys.version.split()[0], "fastapi": fastapi.__version__,',
        '  "uvicorn": uvicorn.__version__, "sqlalchemy": sqlalchemy.__version__,',
        '  "pydantic": pydantic.VERSION, "passlib": passlib.__version__,',
        '  "loop": "uvloop" if has("uvloop") else "asyncio",',
        '  "http": "httptools" if has("httptools") else "h11"}))',
      ].join('\n'),
    ],
    { encoding: 'utf8' },
  );
  if (probe.error !== undefined || probe.status !== 0) {
    return { missing: (probe.stderr || String(probe.error)).trim().split('\n').pop() };
  }
  return JSON.parse(probe.stdout);
}

/** Pins this process (every thread: autocannon runs here) to the CPUs the servers do not use. */
function pinLoadGenerator() {
  const others = Array.from({ length: availableParallelism() }, (_, cpu) => String(cpu)).filter(
    (cpu) => cpu !== serverCpu,
  );
  const result = spawnSync('taskset', ['-a', '-cp', others.join(','), String(process.pid)], {
    encoding: 'utf8',
  });
  return result.status === 0 ? others.join(',') : null;
}

async function startFastApi() {
  const database = await createDatabase(undefined);
  state.databases.push(database);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '',
    // No __pycache__ beside app.py in the working tree.
    PYTHONDONTWRITEBYTECODE: '1',
    FASTAPI_SQLITE_PATH: database.env.SQLITE_PATH,
    FASTAPI_SECRET_KEY: randomBytes(32).toString('hex'),
    BENCH_USERNAME: FASTAPI_USER,
    BENCH_PASSWORD,
  };
  // uvicorn's defaults otherwise: one worker, log level info, access log on.
  const args = ['-m', 'uvicorn', 'app:app', '--app-dir', FASTAPI_DIR];
  args.push('--host', '127.0.0.1', '--port', String(port), '--workers', '1');
  const server = await startServer('FastAPI', args, env, `${baseUrl}/health`, {
    command: PYTHON,
    cpus: serverCpu,
  });
  const response = await globalThis.fetch(`${baseUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new globalThis.URLSearchParams({
      username: FASTAPI_USER,
      password: BENCH_PASSWORD,
    }).toString(),
  });
  if (response.status !== 200) throw new Error(`FastAPI /token: ${response.status}`);
  const { access_token: token } = await response.json();
  return {
    label: 'FastAPI',
    ...server,
    baseUrl,
    request: {
      requests: [
        { method: 'GET', path: '/users/me', headers: { authorization: `Bearer ${token}` } },
      ],
    },
  };
}

async function startService() {
  const database = await createDatabase(undefined);
  state.databases.push(database);
  const app = await startApp(settings, { entry: APP_ENTRY, database, cpus: serverCpu });
  const { accessToken } = await seedAccounts(app.baseUrl);
  return { label: 'service', ...app, request: usersMe(accessToken) };
}

/**
 * One load of `target`, with the server's CPU time per request and the share of a core that it
 * (`serverCore`) and the load generator (`loadCore`, this process) used meanwhile: a load
 * generator near 1.0 is what caps the faster server's numbers, not the server.
 */
async function measure(target, seconds) {
  const before = cpuMicroseconds(target.pid);
  const ownBefore = process.cpuUsage();
  const result = await load(
    target.baseUrl,
    { connections: settings.connections, seconds },
    target.request,
  );
  const after = cpuMicroseconds(target.pid);
  const own = process.cpuUsage(ownBefore);
  const known = before !== null && after !== null && result.operations > 0;
  return {
    ...result,
    cpuPerRequest: known ? (after - before) / result.operations : null,
    serverCore: known ? (after - before) / (result.seconds * 1e6) : null,
    loadCore: (own.user + own.system) / (result.seconds * 1e6),
  };
}

async function main() {
  const python = pythonStack();
  if (python.missing !== undefined) {
    console.error(
      `bench:fastapi: the FastAPI stack cannot run with ${PYTHON} (${python.missing}).\n` +
        `Install it with:  sudo apt-get install -y ${PACKAGES.join(' ')}\n` +
        '(or point BENCH_PYTHON at an interpreter that has those packages)',
    );
    return 2;
  }
  if (availableParallelism() < 2 || spawnSync('taskset', ['-V']).status !== 0) {
    console.error('bench:fastapi: needs at least 2 CPUs and taskset (util-linux)');
    return 2;
  }
  const loadCpus = pinLoadGenerator();
  const seconds = settings.duration / settings.rounds;
  const report = {
    startedAt: new Date().toISOString(),
    command: 'npm run bench:fastapi',
    machine: {
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverageBefore: loadavg(),
    },
    python,
    settings: {
      serverCpu,
      loadCpus,
      connections: settings.connections,
      rounds: settings.rounds,
      roundSeconds: seconds,
    },
    rounds: [],
  };
  console.log(
    `GET /users/me: this service (NODE_ENV=production, LOG_LEVEL=${settings.logLevel ?? 'info'}, ` +
      `SQLite) against FastAPI ${python.fastapi} + uvicorn ${python.uvicorn} ` +
      `(${python.loop}, ${python.http}; one worker, access log on) + python-jose + ` +
      `SQLAlchemy ${python.sqlalchemy} (SQLite), Python ${python.python}`,
  );
  console.log(
    `both servers pinned to CPU ${serverCpu}, the load generator to ${loadCpus ?? 'any CPU (taskset failed)'}; ` +
      `${settings.rounds} alternating rounds of ${number(seconds, 1)} s, ${settings.connections} connections`,
  );
  const service = await startService();
  const fastapi = await startFastApi();
  for (const target of [service, fastapi]) await measure(target, settings.warmup);

  for (let round = 0; round < settings.rounds; round += 1) {
    const order = round % 2 === 0 ? [service, fastapi] : [fastapi, service];
    const results = {};
    for (const target of order) results[target.label] = await measure(target, seconds);
    const ratio = results.service.perSecond / results.FastAPI.perSecond;
    report.rounds.push({ ...results, ratio });
    const side = (name) =>
      `${name} ${number(results[name].perSecond)}/s (${number(results[name].cpuPerRequest, 0)} µs ` +
      `CPU/request, server ${number(results[name].serverCore, 2)} core, ` +
      `load generator ${number(results[name].loadCore, 2)})`;
    console.log(
      `round ${String(round + 1).padStart(2)}: ${side('service')}, ${side('FastAPI')}; ` +
        `ratio ${number(ratio, 1)}`,
    );
  }
  const sides = ['service', 'FastAPI'];
  const medianOf = (pick) => median(report.rounds.map(pick));
  report.ratio = medianOf((round) => round.ratio);
  report.summary = Object.fromEntries(
    sides.map((side) => [
      side,
      {
        perSecond: medianOf((round) => round[side].perSecond),
        p50: medianOf((round) => round[side].p50),
        p99: Math.max(...report.rounds.map((round) => round[side].p99)),
        cpuPerRequest: medianOf((round) => round[side].cpuPerRequest ?? 0),
        serverCore: medianOf((round) => round[side].serverCore ?? 0),
        loadCore: medianOf((round) => round[side].loadCore),
        failures: report.rounds.reduce((total, round) => total + failuresOf(round[side]), 0),
      },
    ]),
  );
  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAfter = loadavg();
  for (const side of sides) {
    const summary = report.summary[side];
    console.log(
      `${side.padEnd(8)} median ${number(summary.perSecond)}/s, p50 ${number(summary.p50, 1)} ms, ` +
        `p99 ${number(summary.p99, 1)} ms, ${number(summary.cpuPerRequest, 0)} µs CPU/request, ` +
        `server ${number(summary.serverCore, 2)} core, load generator ` +
        `${number(summary.loadCore, 2)} core, ${summary.failures} failed`,
    );
  }
  report.cpuRatio = report.summary.FastAPI.cpuPerRequest / report.summary.service.cpuPerRequest;
  console.log(
    `\nthroughput ratio service / FastAPI (median of rounds): ${number(report.ratio, 1)}x ` +
      `${report.ratio >= GOAL ? 'PASS' : 'FAIL'} (goal >= ${GOAL}x)`,
  );
  console.log(
    `CPU per request FastAPI / service (medians): ${number(report.cpuRatio, 1)}x ` +
      '(what the throughput ratio would be if each server had its core to itself)',
  );
  console.log(`results: ${writeJson(report, 'fastapi-')}`);
  const failed = sides.filter((side) => report.summary[side].failures > 0);
  for (const side of failed)
    console.log(`FAILED: ${side}: ${report.summary[side].failures} failed requests`);
  return failed.length > 0 ? 1 : 0;
}
