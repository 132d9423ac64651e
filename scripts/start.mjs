#!/usr/bin/env node
// `npm start`: serves the compiled server in dist/, compiling it first only when dist/ is missing
// or older than a file it is compiled from (src/, migrations/, ormconfig.ts, the tsconfig files).
// The server then runs in this very process (no child): a SIGTERM or SIGINT, whether sent to
// npm, to npm's process group or to this process, reaches the server's own shutdown hooks
// (src/main.ts), which drain in-flight requests, flush the logs and exit 0.
// The compiler's output goes to stderr so stdout carries only the service's JSON log lines.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'dist', 'src', 'main.js');
const SOURCES = ['src', 'migrations', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time under a path; directories count too, so a deleted file counts. */
function newest(file) {
  if (!existsSync(file)) return 0;
  const stat = statSync(file);
  if (!stat.isDirectory()) return file.endsWith('.spec.ts') ? 0 : stat.mtimeMs;
  return readdirSync(file).reduce(
    (latest, entry) => Math.max(latest, newest(path.join(file, entry))),
    stat.mtimeMs,
  );
}

function typescriptCompiler() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

const builtAt = existsSync(ENTRY) ? statSync(ENTRY).mtimeMs : -Infinity;
const stale = SOURCES.some((source) => newest(path.join(ROOT, source)) > builtAt);
if (stale) {
  const tsc = typescriptCompiler();
  if (tsc === undefined) {
    if (!existsSync(ENTRY)) {
      console.error(
        'dist/ is missing and TypeScript is not installed: run `npm ci` (not --omit=dev) and ' +
          '`npm run build` first, or see "Operations" in README.md.',
      );
      process.exit(1);
    }
    console.error(
      'warning: dist/ is older than src/ and TypeScript is not installed; serving dist/.',
    );
  } else {
    console.error('Compiling to dist/ (it is missing or older than src/) ...');
    const build = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], {
      cwd: ROOT,
      stdio: ['ignore', process.stderr, process.stderr],
    });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
}

// The server's own module, in this process: its signal handlers are the process's.
createRequire(import.meta.url)(ENTRY);
