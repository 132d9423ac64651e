import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEnvironment } from './helpers/test-app';
import { createTestDatabase, type TestDatabase } from './helpers/test-database';

// The checkout (the runner works from its root) and the compiled tree this file belongs to.
const REPO = process.cwd();
const BUILT = path.resolve(__dirname, '..');
const BOOT_TIMEOUT_MS = 60_000;

/**
 * A directory that `npm start` treats as this project: its package.json and start script, the
 * checkout's node_modules, and dist/ = the tree the runner compiled (no sources, so never stale).
 */
function projectWithBuiltDist(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'identity-start-'));
  copyFileSync(path.join(REPO, 'package.json'), path.join(directory, 'package.json'));
  mkdirSync(path.join(directory, 'scripts'));
  copyFileSync(
    path.join(REPO, 'scripts', 'start.mjs'),
    path.join(directory, 'scripts', 'start.mjs'),
  );
  symlinkSync(path.join(REPO, 'node_modules'), path.join(directory, 'node_modules'));
  symlinkSync(BUILT, path.join(directory, 'dist'));
  return directory;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves true when something accepts a TCP connection on the port, false when refused. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls until the condition holds; fails after the deadline. */
async function until(what: string, condition: () => Promise<boolean>, timeoutMs = BOOT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Started {
  npm: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start --silent` in its own process group, as a supervisor would run it. */
async function npmStart(directory: string, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const npmCli = process.env.npm_execpath;
  const [command, args] =
    npmCli !== undefined && npmCli.endsWith('.js')
      ? [process.execPath, [npmCli, 'start', '--silent']]
      : ['npm', ['start', '--silent']];
  const npm = spawn(command, args, {
    cwd: directory,
    detached: true,
    env: { ...process.env, DATABASE_URL: '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  npm.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const live = async () => {
    if (npm.exitCode !== null) assert.fail(`npm start exited early: ${stderr}`);
    return fetch(`http://127.0.0.1:${port}/api/v1/health/live`).then(
      (response) => response.status === 200,
      () => false,
    );
  };
  await until('the server to answer /health/live', live);
  return { npm, port, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Sends a login's headers and half its body: a request the server is in the middle of. */
async function halfSentLogin(port: number): Promise<{ finish: () => Promise<string> }> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const body = JSON.stringify({ username: 'nobody-at-all', password: 'not the password' });
  socket.write(
    'POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
  );
  let response = '';
  socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    async finish() {
      socket.write(body.slice(10));
      await ended;
      return response;
    },
  };
}

describe('npm start and SIGTERM', () => {
  let database: TestDatabase;
  let directory: string;
  const running: ChildProcess[] = [];

  before(async () => {
    database = await createTestDatabase();
    directory = projectWithBuiltDist();
  });
  after(async () => {
    // A failed test must not leave a server behind: kill what is left of each process group.
    for (const npm of running) {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(directory, { recursive: true, force: true });
    await database.drop();
  });

  for (const target of ['npm', 'process group'] as const) {
    it(`SIGTERM to ${target === 'npm' ? "npm's pid" : "npm's process group"} finishes the request in flight, frees the port and exits 0`, async () => {
      const started = await npmStart(directory, {
        ...testEnvironment(database),
        LOG_LEVEL: 'info',
      });
      running.push(started.npm);
      const inFlight = await halfSentLogin(started.port);
      // A full request answered after the half-sent one: the server has read its headers.
      assert.equal(
        (await fetch(`http://127.0.0.1:${started.port}/api/v1/health/live`)).status,
        200,
      );

      process.kill(target === 'npm' ? started.npm.pid! : -started.npm.pid!, 'SIGTERM');

      // The listening socket closes at once, while the request in flight is still open...
      await until(
        'the port to refuse new connections',
        async () => !(await accepts(started.port)),
        10_000,
      );
      // ...and that request is still answered (an unknown account: 401), not cut off.
      const response = await inFlight.finish();
      assert.match(response, /^HTTP\/1\.1 401 /);
      // Exits 0 promptly (not after the 72 s keep-alive timeout of the answered connection).
      assert.deepEqual(await within(started.exited, 10_000), { code: 0, signal: null });
      // The server process is gone with npm: the port can be bound again.
      const server = createServer().listen(started.port, '127.0.0.1');
      await once(server, 'listening');
      server.close();
      // No npm banner and no compiler output on stdout: only the service's JSON lines.
      const lines = started
        .stdout()
        .split('\n')
        .filter((line) => line !== '');
      assert.ok(lines.length > 0);
      for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    });
  }
});

describe('npm start compiles only when dist/ is missing or stale', () => {
  let directory: string;

  before(() => {
    // A one-file project with the real start script and the checkout's TypeScript.
    directory = mkdtempSync(path.join(tmpdir(), 'identity-start-build-'));
    mkdirSync(path.join(directory, 'scripts'));
    copyFileSync(
      path.join(REPO, 'scripts', 'start.mjs'),
      path.join(directory, 'scripts', 'start.mjs'),
    );
    symlinkSync(path.join(REPO, 'node_modules'), path.join(directory, 'node_modules'));
    mkdirSync(path.join(directory, 'src'));
    writeFileSync(
      path.join(directory, 'src', 'main.ts'),
      "const served: string = 'one';\nconsole.log(served);\n",
    );
    writeFileSync(
      path.join(directory, 'tsconfig.build.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'commonjs',
          target: 'ES2023',
          rootDir: '.',
          outDir: 'dist',
          types: [],
        },
        include: ['src'],
      }),
    );
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  function start() {
    const run = spawnSync(process.execPath, ['scripts/start.mjs'], {
      cwd: directory,
      encoding: 'utf8',
    });
    return { status: run.status, stdout: run.stdout, compiled: run.stderr.includes('Compiling') };
  }

  it('compiles a missing dist/, then serves it as built, and compiles again after a source changes', () => {
    assert.deepEqual(start(), { status: 0, stdout: 'one\n', compiled: true });
    assert.deepEqual(start(), { status: 0, stdout: 'one\n', compiled: false });

    const source = path.join(directory, 'src', 'main.ts');
    writeFileSync(source, "const served: string = 'two';\nconsole.log(served);\n");
    // The build older than the edit, whatever the file system's timestamp resolution.
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(path.join(directory, 'dist', 'src', 'main.js'), earlier, earlier);
    assert.deepEqual(start(), { status: 0, stdout: 'two\n', compiled: true });
    assert.deepEqual(start(), { status: 0, stdout: 'two\n', compiled: false });
  });

  it('refuses with a pointer to the README when dist/ is missing and TypeScript is not installed', () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'identity-start-bare-'));
    try {
      mkdirSync(path.join(bare, 'scripts'));
      mkdirSync(path.join(bare, 'src'));
      copyFileSync(
        path.join(REPO, 'scripts', 'start.mjs'),
        path.join(bare, 'scripts', 'start.mjs'),
      );
      writeFileSync(path.join(bare, 'src', 'main.ts'), '');
      const run = spawnSync(process.execPath, ['scripts/start.mjs'], {
        cwd: bare,
        encoding: 'utf8',
      });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /TypeScript is not installed.*README/s);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
