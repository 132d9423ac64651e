// Child processes of a bench run: servers (the app, the bare Nest app) and measuring scripts
// (argon2, rotation SQL). Every child is tracked so that an exit, a timeout or Ctrl+C can kill it.
// A server's stdout and stderr go to a file, as they would for `npm start > app.log` or a log
// collector tailing one: the app really writes every line, and reading them costs the load
// generator nothing. The files live in a temporary directory removed when the bench exits.
import { spawn } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { Buffer } from 'node:buffer';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set();
let logDirectory = null;
let logFiles = 0;

// Last resort (normal exit, uncaught error): nothing outlives the bench. Synchronous by necessity.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  if (logDirectory !== null) rmSync(logDirectory, { recursive: true, force: true });
});

/** A new file in the run's log directory, for a server's stdout and stderr. */
function logFileFor(name) {
  logDirectory ??= mkdtempSync(path.join(tmpdir(), 'identity-bench-logs-'));
  return path.join(logDirectory, `${(logFiles += 1)}-${name.replace(/[^A-Za-z0-9]+/g, '-')}.log`);
}

const REQUEST_LINE = '"message":"request completed"';

/**
 * What a server wrote to its log file: the number of lines, of request lines (the app's
 * `"message":"request completed"`), of bytes, and the last lines. Read in chunks, so a log of
 * hundreds of megabytes is no problem.
 */
export function readLog(file) {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(1 << 20);
    let lines = 0;
    let requestLines = 0;
    let carry = '';
    for (let position = 0; position < size;) {
      const read = readSync(fd, buffer, 0, buffer.length, position);
      if (read === 0) break;
      position += read;
      const text = carry + buffer.toString('latin1', 0, read);
      const parts = text.split('\n');
      carry = parts.pop();
      lines += parts.length;
      for (const part of parts) if (part.includes(REQUEST_LINE)) requestLines += 1;
    }
    if (carry !== '') lines += 1;
    const tailBytes = Math.min(size, 64 * 1024);
    const tailBuffer = Buffer.alloc(tailBytes);
    readSync(fd, tailBuffer, 0, tailBytes, size - tailBytes);
    const tail = tailBuffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-20)
      .map((line) => (line.length > 500 ? `${line.slice(0, 500)}...` : line));
    return { file, bytes: size, lines, requestLines, tail };
  } finally {
    closeSync(fd);
  }
}

/** Stops every child still running: SIGTERM, then SIGKILL after a grace period. */
export async function stopAll() {
  await Promise.all([...running].map((child) => terminate(child)));
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A child process: `command` (Node by default) with `args`, pinned to the CPUs of `cpus` (a
 * taskset list such as "1") when given. Scripts (`collect`) print their JSON result on a pipe,
 * kept whole; servers write to a log file (see the top of this file), read by `output()`.
 */
function launch(name, args, env, { collect = false, cpus, command = process.execPath } = {}) {
  const [program, argv] =
    cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
  if (collect) {
    const child = spawn(program, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { stdout: '', tail: [] };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output.stdout += chunk;
    });
    const keep = (chunk) => {
      output.tail.push(...chunk.split('\n').filter((text) => text.trim() !== ''));
      output.tail.splice(0, Math.max(0, output.tail.length - 20));
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    return track(name, child, () => output);
  }
  const file = logFileFor(name);
  const fd = openSync(file, 'a');
  try {
    const child = spawn(program, argv, { env, stdio: ['ignore', fd, fd] });
    return track(name, child, () => readLog(file));
  } finally {
    // The child has its own copy of the descriptor.
    closeSync(fd);
  }
}

function track(name, child, output) {
  running.add(child);
  child.once('exit', () => running.delete(child));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { name, child, output, exited };
}

async function terminate(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a server and waits until `readyUrl` answers 200. Throws (with the server's last output
 * lines) if it exits or is not ready in time. `options`: `cpus` and `command` as for launch.
 */
export async function startServer(name, args, env, readyUrl, options = {}) {
  const { timeoutMs = 60_000, ...how } = options;
  const server = launch(name, args, env, how);
  const deadline = Date.now() + timeoutMs;
  let exit = null;
  void server.exited.then((result) => {
    exit = result;
  });
  while (exit === null) {
    if (await answers200(readyUrl)) {
      return { ...server, pid: server.child.pid, stop: () => terminate(server.child) };
    }
    if (Date.now() > deadline) break;
    await sleep(200);
  }
  await terminate(server.child);
  throw new Error(
    `${name} did not become ready at ${readyUrl}` +
      (exit === null
        ? ` within ${timeoutMs / 1000} s`
        : ` (exited with ${exit.code ?? exit.signal})`) +
      `\n  last output:\n    ${server.output().tail.join('\n    ')}`,
  );
}

async function answers200(url) {
  try {
    const response = await globalThis.fetch(url, { signal: globalThis.AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Runs a measuring script to completion and returns the JSON it prints on stdout. Killed if it
 * runs past `timeoutMs`.
 */
export async function runScript(name, args, env, timeoutMs) {
  const script = launch(name, args, env, { collect: true });
  const timer = setTimeout(() => script.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await script.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(
      `${name} failed (${code ?? signal}):\n    ${script.output().tail.join('\n    ')}`,
    );
  }
  const lastLine = script.output().stdout.trim().split('\n').pop();
  return JSON.parse(lastLine);
}

/**
 * Samples a process's resident memory (Linux /proc): `current()` now, `peak()` the kernel's
 * high-water mark (VmHWM), which catches spikes between samples. Values in MiB; null elsewhere.
 */
export function watchMemory(pid) {
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
      return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
    } catch {
      return null;
    }
  };
  let peak = read()?.hwm ?? null;
  // Sampled too, in case the kernel's counter is unavailable or reset.
  const timer = setInterval(() => {
    const sample = read();
    if (sample !== null) peak = Math.max(peak ?? 0, sample.hwm, sample.rss);
  }, 250);
  timer.unref();
  return {
    current: () => read()?.rss ?? null,
    peak: () => {
      const sample = read();
      if (sample !== null) peak = Math.max(peak ?? 0, sample.hwm);
      return peak;
    },
    stop: () => clearInterval(timer),
  };
}

/** CPU time (user + system, all threads) of a process so far, in µs; null off Linux. */
export function cpuMicroseconds(pid) {
  try {
    let ticks = 0;
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10_000; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}
