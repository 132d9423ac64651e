#!/usr/bin/env node
// postinstall: argon2 compiled from source. Its install script (node-gyp-build) keeps the
// prebuilt binary whenever that binary loads, and the linux-x64 prebuild crashes on some CPUs
// (docs/decisions.md, "Native modules"). node-gyp-build would compile only with
// npm_config_build_from_source=true, which npm 11 warns about as an unknown setting and npm 12
// drops; so this compiles it here, with the node-gyp npm ships (npm_config_node_gyp), unless
// argon2's own install already did (build/Release, which argon2 loads before any prebuild).
// npm_config_nodedir, when set, points node-gyp at another Node's headers (CI's Node 22 run).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

let directory;
try {
  directory = path.dirname(createRequire(import.meta.url).resolve('argon2/package.json'));
} catch {
  process.exit(0); // not installed (npm install --ignore-scripts, or a partial tree)
}
if (existsSync(path.join(directory, 'build', 'Release', 'argon2.node'))) process.exit(0);

const nodeGyp = process.env.npm_config_node_gyp;
const [command, args] =
  nodeGyp !== undefined && nodeGyp !== ''
    ? [process.execPath, [nodeGyp, 'rebuild']]
    : ['node-gyp', ['rebuild']];
const build = spawnSync(command, args, { cwd: directory, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('argon2 could not be compiled: a C++ toolchain (python3, make, g++) is required.');
  process.exit(build.status ?? 1);
}
