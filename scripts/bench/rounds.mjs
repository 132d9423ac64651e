// One timed load of a server with its CPU cost, for the scripts that alternate servers in short
// rounds (compare-builds.mjs, jwt-floor.mjs).
import { setTimeout } from 'node:timers';
import { load, stopLoad } from './load.mjs';
import { cpuMicroseconds, stopAll } from './processes.mjs';
import { failuresOf } from './report.mjs';
import { median } from './stats.mjs';

/**
 * Loads `target` ({ label, pid, baseUrl, request }) for `seconds` with `connections`; its
 * requests per second and the CPU time of its process per request (null off Linux). Throws if
 * any request failed.
 */
export async function measure(target, { connections, seconds }) {
  const before = cpuMicroseconds(target.pid);
  const result = await load(target.baseUrl, { connections, seconds }, target.request);
  const after = cpuMicroseconds(target.pid);
  if (failuresOf(result) > 0) {
    throw new Error(`${target.label}: ${failuresOf(result)} failed requests`);
  }
  return {
    perSecond: result.perSecond,
    cpuPerRequest:
      before === null || after === null || result.operations === 0
        ? null
        : (after - before) / result.operations,
  };
}

/** The median of the values measured (CPU time is null off Linux); null if there are none. */
export function medianOf(values) {
  const known = values.filter((value) => value !== null);
  return known.length === 0 ? null : median(known);
}

/**
 * Runs `main` (resolving to an exit code) and exits with it, after stopping the load, every
 * child process and what `cleanUp` releases (throwaway databases); the same on Ctrl+C (130), on
 * an error (1) and after `timeoutSeconds` (1). `name` is how the script introduces itself.
 */
export function runBounded(name, main, { cleanUp, timeoutSeconds }) {
  const shutdown = async (code) => {
    stopLoad();
    await stopAll();
    await cleanUp();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130));
  setTimeout(() => {
    console.error(`${name}: out of time`);
    void shutdown(1);
  }, timeoutSeconds * 1000).unref();
  main().then(
    (code) => shutdown(code),
    (error) => {
      console.error(`${name} failed: ${error instanceof Error ? error.message : error}`);
      return shutdown(1);
    },
  );
}
