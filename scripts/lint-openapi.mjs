#!/usr/bin/env node
// `npm run lint:openapi`: builds the OpenAPI document the service serves (without a database or
// a server: dist/src/openapi-document.js) into a temporary file and lints it with Redocly's
// recommended rules (redocly.yaml). Exits non-zero on any error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const directory = mkdtempSync(path.join(tmpdir(), 'openapi-lint-'));
const file = path.join(directory, 'openapi.json');
const run = (args) =>
  spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    // No telemetry and no update check: the lint needs no network.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
let status;
try {
  status = run([path.join('dist', 'src', 'openapi-document.js'), file]).status;
  if (status === 0) {
    status = run([
      path.join('node_modules', '@redocly', 'cli', 'bin', 'cli.js'),
      'lint',
      file,
      '--config',
      'redocly.yaml',
    ]).status;
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
process.exit(status ?? 1);
