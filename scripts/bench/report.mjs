// The bench's output: a table on stdout and the same numbers as JSON under bench-results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './config.mjs';

/** A number for the printed output; `-` when there is none. */
export const number = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);

/** Errors of a load run: connection errors, timeouts and non-2xx answers. */
export function failuresOf(result) {
  return (result.errors ?? 0) + (result.timeouts ?? 0) + (result.non2xx ?? 0);
}

/** One line for the progress log. */
export function describe(result) {
  const errors = result.non2xx === undefined ? '' : `, ${failuresOf(result)} errors`;
  return (
    `  -> ${number(result.perSecond, 1)}/s, p50 ${number(result.p50, 1)} ms, ` +
    `p99 ${number(result.p99, 1)} ms${errors}`
  );
}

function verdict(ratio, target, atMost = false) {
  if (target === null || ratio === null) return '';
  const pass = atMost ? ratio <= target : ratio >= target;
  return `${pass ? 'PASS' : 'FAIL'} (${atMost ? '<=' : '>='} ${target.toFixed(2)})`;
}

function table(header, rows) {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  // Text columns left-aligned, numbers right-aligned.
  const line = (cells) =>
    cells
      .map((cell, column) =>
        column === 0 || column === 7 || column === 10
          ? cell.padEnd(widths[column])
          : cell.padStart(widths[column]),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

/** The table of scenarios (with their baseline and ratio) and of the baselines themselves. */
export function formatTable(report) {
  const header = [
    'scenario',
    'conn',
    'secs',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'baseline',
    'base/s',
    'ratio',
    'target',
  ];
  const rows = report.scenarios.map((scenario) => [
    scenario.name,
    String(scenario.connections),
    number(scenario.seconds, 1),
    number(scenario.perSecond, 1),
    number(scenario.p50, 1),
    number(scenario.p99, 1),
    String(failuresOf(scenario)),
    scenario.baseline?.key ?? '-',
    number(scenario.baseline?.perSecond, 1),
    number(scenario.ratio, 2),
    // A ratio over failed requests means nothing.
    failuresOf(scenario) > 0 ? 'ERRORS' : verdict(scenario.ratio, scenario.target),
  ]);
  for (const baseline of Object.values(report.baselines)) {
    rows.push([
      `(${baseline.key}) ${baseline.name}`,
      String(baseline.concurrency),
      number(baseline.seconds, 1),
      number(baseline.perSecond, 1),
      number(baseline.p50, 1),
      number(baseline.p99, 1),
      baseline.non2xx === undefined ? '-' : String(failuresOf(baseline)),
      '',
      '',
      '',
      '',
    ]);
  }
  const memory = report.memory;
  const memoryLine =
    `app RSS: after warm-up ${number(memory.afterWarmupMiB, 1)} MiB, after run ` +
    `${number(memory.afterRunMiB, 1)} MiB, ratio ${number(memory.ratio, 2)} ` +
    `${verdict(memory.ratio, memory.target, true)}; peak ${number(memory.peakMiB, 1)} MiB`;
  return `${table(header, rows)}\n\n${memoryLine}`;
}

/** Writes the report to bench-results/<prefix><ISO timestamp>.json and returns the path. */
export function writeJson(report, prefix = '') {
  const directory = path.join(ROOT, 'bench-results');
  mkdirSync(directory, { recursive: true });
  const file = path.join(directory, `${prefix}${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return path.relative(ROOT, file);
}
