#!/usr/bin/env node
// `npm run timing:forgot` (issue 16, SPEC §8): can an attacker tell from the time
// `POST /auth/password/forgot` takes whether an account has the address? Starts the BUILT app
// with production settings on a throwaway database, as `npm run timing:login` does (mails go to
// the bench's SMTP sink), registers TIMING_ACCOUNTS (20) accounts, then interleaves, one request
// at a time and alternating which goes first, TIMING_SAMPLES (1000) requests for their addresses
// with as many for addresses no account has. Prints both medians, their difference and ratio;
// exit code 1 if the medians differ by more than TIMING_TOLERANCE (0.10) or an answer was not
// 202. DATABASE_URL (postgres://...) runs it on a new database on that server.
// Not a test: timings on a shared machine are for a benchmark, never for `npm test`.
import { randomBytes } from 'node:crypto';
import { BENCH_PASSWORD, positiveInteger } from '../bench/config.mjs';
import { interleave, post, report, runTimed, timingSettings, unknownName } from './timed-app.mjs';

// More than timing:login's 200: these answers take a few ms, where the machine's noise is as large.
const settings = timingSettings(1000);
const accountCount = positiveInteger(process.env, 'TIMING_ACCOUNTS', 20);

runTimed('timing:forgot', settings, async (baseUrl, databaseLabel) => {
  const emails = [];
  for (let index = 0; index < accountCount; index++) {
    const username = `forgot-${index}-${randomBytes(3).toString('hex')}`;
    const email = `${username}@example.com`;
    const created = await post(baseUrl, '/auth/register', {
      username,
      email,
      password: BENCH_PASSWORD,
    });
    if (created.status !== 201) throw new Error(`registering ${username}: ${created.status}`);
    emails.push(email);
  }
  // Alternating order also keeps an existing address's queued mail from always preceding one kind.
  const result = await interleave(settings, 202, async (kind, round) => {
    const email =
      kind === 'known' ? emails[round % emails.length] : `${unknownName(round)}@example.com`;
    return { ...(await post(baseUrl, '/auth/password/forgot', { email })), label: email };
  });
  return report(settings, databaseLabel, result, {
    labels: { known: 'existing account', unknown: 'unknown address' },
    about: [
      `${settings.samples} samples each after ${settings.warmup} warm-up rounds, ` +
        `${accountCount} real accounts`,
    ],
  });
});
