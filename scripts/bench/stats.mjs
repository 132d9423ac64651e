// Throughput and latency percentiles for the measuring scripts (autocannon computes its own).

/** `value` at percentile `p` (0..100) of ascending `sorted`, nearest rank. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Operations per second and p50/p99 latency (ms) of one timed run. */
export function summarise(latenciesMs, seconds) {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    operations: sorted.length,
    seconds,
    perSecond: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
