// One timed load of a server with its CPU cost, for the scripts that alternate servers in short
// rounds (compare-builds.mjs, jwt-floor.mjs).
import { load } from './load.mjs';
import { cpuMicroseconds } from './processes.mjs';
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
