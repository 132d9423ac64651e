// HTTP load with autocannon (as a library), reduced to the numbers the report shows.
import autocannon from 'autocannon';

let current = null;

/** Stops the load that is running, if any (timeout, Ctrl+C). */
export function stopLoad() {
  current?.stop();
}

/**
 * Runs `connections` keep-alive connections against `url` for `seconds`, each sending its next
 * request as soon as the previous answer arrives. `request` holds autocannon's `requests` (each
 * with method, path, headers, body; a top-level `path` would be ignored) or `setupClient`.
 */
export async function load(url, { connections, seconds }, request) {
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    ...request,
  });
  current = instance;
  try {
    return summarise(await instance);
  } finally {
    current = null;
  }
}

function summarise(result) {
  const completed = result.requests.total;
  return {
    operations: completed,
    seconds: result.duration,
    perSecond: completed / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    // Connection errors and timeouts, and answers other than 2xx: any of them fails the run.
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
    ),
  };
}
