#!/usr/bin/env node
// `npm test`: compiles the project (src, test, migrations) to dist/ and runs every unit test
// (*.spec.js, next to the code) and e2e test (test/*.e2e-spec.js) with Node's test runner.
// Arguments filter test files by substring, e.g. `npm test -- auth-login`.
// DATABASE_URL (postgres://...) runs the e2e suite against PostgreSQL: each test file creates
// and drops its own database on that server.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);

// TEST_OUT_DIR lets two test runs in one checkout compile to different places.
const outDir = process.env.TEST_OUT_DIR ?? 'dist';
rmSync(outDir, { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', outDir],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(tsc.status ?? 1);
}

function walk(directory) {
  return readdirSync(directory).flatMap((entry) => {
    const full = path.join(directory, entry);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

const filters = process.argv.slice(2);
const files = [...walk(path.join(outDir, 'src')), ...walk(path.join(outDir, 'test'))]
  .filter((file) => file.endsWith('.spec.js') || file.endsWith('.e2e-spec.js'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error('No test files matched.');
  process.exit(1);
}

const tapFile = path.join(mkdtempSync(path.join(tmpdir(), 'identity-tests-')), 'results.tap');
const run = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    `--test-concurrency=${Math.max(2, availableParallelism())}`,
    '--test-timeout=120000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);

const tap = readFileSync(tapFile, 'utf8');
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
