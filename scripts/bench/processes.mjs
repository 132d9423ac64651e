// Child processes of a bench run: servers (the app, the bare Nest app) and measuring scripts
// (argon2, rotation SQL). Every child is tracked so that an exit, a timeout or Ctrl+C can kill it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set();

// Last resort (normal exit, uncaught error): nothing outlives the bench. Synchronous by necessity.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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

/** `collect`: keep the whole stdout (a script's JSON result); servers only keep a tail. */
function launch(name, args, env, collect = false) {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const output = { stdout: '', tail: [], lines: 0 };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  if (collect) {
    child.stdout.on('data', (chunk) => {
      output.stdout += chunk;
    });
  }
  // Servers log to stdout and stderr: keep a count and the last lines for the report.
  const keep = (chunk) => {
    for (const line of chunk.split('\n').filter((text) => text.trim() !== '')) {
      output.lines += 1;
      output.tail.push(line.length > 500 ? `${line.slice(0, 500)}...` : line);
      if (output.tail.length > 20) output.tail.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
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
 * lines) if it exits or is not ready in time.
 */
export async function startServer(name, args, env, readyUrl, timeoutMs = 60_000) {
  const server = launch(name, args, env);
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
      `\n  last output:\n    ${server.output.tail.join('\n    ')}`,
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
  const script = launch(name, args, env, true);
  const timer = setTimeout(() => script.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await script.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(
      `${name} failed (${code ?? signal}):\n    ${script.output.tail.join('\n    ')}`,
    );
  }
  const lastLine = script.output.stdout.trim().split('\n').pop();
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
