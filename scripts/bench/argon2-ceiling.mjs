// Baseline (b) of `npm run bench`: how many argon2id verifications (or hashes) per second this
// machine does with the given parameters, with enough operations in flight to keep every libuv
// threadpool thread busy. No HTTP, no database: the ceiling for login (verify) and register
// (hash). Prints one JSON line.
// Usage: node argon2-ceiling.mjs --mode verify|hash --seconds 10 --concurrency 8
//          --memory 19456 --time 2 --parallelism 1
import argon2 from 'argon2';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { summarise } from './stats.mjs';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    seconds: { type: 'string' },
    concurrency: { type: 'string' },
    memory: { type: 'string' },
    time: { type: 'string' },
    parallelism: { type: 'string' },
  },
});
const options = {
  type: argon2.argon2id,
  memoryCost: Number(values.memory),
  timeCost: Number(values.time),
  parallelism: Number(values.parallelism),
};
const password = 'bench-Kq7-unusual-passphrase-42';
const stored = await argon2.hash(password, options);

// Each operation as the app does it: verify against a stored hash, or hash with a fresh salt.
const operation =
  values.mode === 'hash'
    ? () => argon2.hash(password, options)
    : async () => {
        if (!(await argon2.verify(stored, password))) throw new Error('verification failed');
      };

// A few operations first, so thread start-up is not measured.
await Promise.all(Array.from({ length: 4 }, operation));

const latencies = [];
const start = performance.now();
const end = start + Number(values.seconds) * 1000;
async function worker() {
  while (performance.now() < end) {
    const begun = performance.now();
    await operation();
    latencies.push(performance.now() - begun);
  }
}
await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
const seconds = (performance.now() - start) / 1000;

console.log(
  JSON.stringify({
    mode: values.mode,
    concurrency: Number(values.concurrency),
    ...summarise(latencies, seconds),
  }),
);
