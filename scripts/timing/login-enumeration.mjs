#!/usr/bin/env node
// `npm run timing:login` (issue 13 item 5, SPEC §5): can an attacker tell an unknown login name
// from a real account by the time a failed login takes? Starts the BUILT app with production
// settings (argon2 at the app's own defaults) on a throwaway database, like `npm run bench`,
// then interleaves, one request at a time, TIMING_SAMPLES (200) wrong-password logins for real
// accounts with as many logins for names no account has. Prints both medians and their ratio;
// exit code 1 if the medians differ by more than TIMING_TOLERANCE (0.10) or a request did not
// answer 401. DATABASE_URL (postgres://...) runs it on a new database on that server.
// Not a test: timings on a shared machine are for a benchmark, never for `npm test`.
import { randomBytes } from 'node:crypto';
import { appDefaults, BENCH_PASSWORD } from '../bench/config.mjs';
import { interleave, post, report, runTimed, timingSettings, unknownName } from './timed-app.mjs';

const settings = timingSettings(200);
const defaults = appDefaults();
// Wrong passwords per real account: under the lockout threshold, so every sample is the
// "wrong password, account not locked" path (a locked account answers like an unknown name).
const perAccount = Number(defaults.LOCKOUT_THRESHOLD) - 1;

runTimed('timing:login', settings, async (baseUrl, databaseLabel) => {
  const accounts = Math.ceil((settings.samples + settings.warmup) / perAccount);
  const names = [];
  for (let index = 0; index < accounts; index++) {
    const username = `timing-${index}-${randomBytes(3).toString('hex')}`;
    const created = await post(baseUrl, '/auth/register', {
      username,
      email: `${username}@example.com`,
      password: BENCH_PASSWORD,
    });
    if (created.status !== 201) throw new Error(`registering ${username}: ${created.status}`);
    names.push(username);
  }
  const result = await interleave(settings, 401, async (kind, round) => {
    const username = kind === 'known' ? names[Math.floor(round / perAccount)] : unknownName(round);
    const answer = await post(baseUrl, '/auth/login', {
      username,
      password: 'wrong-Zp4-passphrase-17',
    });
    return { ...answer, label: username };
  });
  return report(settings, databaseLabel, result, {
    labels: { known: 'wrong password, real account', unknown: 'unknown name' },
    about: [
      `argon2id:  m=${defaults.ARGON2_MEMORY_KIB} KiB, t=${defaults.ARGON2_TIME_COST}, ` +
        `p=${defaults.ARGON2_PARALLELISM}; ${settings.samples} samples each after ` +
        `${settings.warmup} warm-up rounds`,
    ],
  });
});
