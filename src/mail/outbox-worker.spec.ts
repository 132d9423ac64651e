import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFailure, judgeFailure } from './outbox-worker';

// What a failed attempt means: the back-off, permanent SMTP replies, the attempt limit.
// Delivery end to end: test/mail-outbox.e2e-spec.ts.

const SETTINGS = { maxAttempts: 5, retryBaseSeconds: 30, retryMaxSeconds: 300 };
const NOW = new Date('2026-12-02T08:00:00.000Z');

function smtpError(responseCode: number): Error {
  return Object.assign(new Error(`${responseCode} refused`), { responseCode });
}

const waitAfter = (attempts: number, error: unknown = new Error('ECONNREFUSED')) => {
  const verdict = judgeFailure(error, attempts, NOW, SETTINGS);
  return verdict.retry ? (verdict.nextAttemptAt.getTime() - NOW.getTime()) / 1000 : verdict.reason;
};

describe('judgeFailure', () => {
  it('waits base * 2^(attempts-1) seconds, capped at the maximum', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((attempts) => waitAfter(attempts)),
      [30, 60, 120, 240],
    );
    assert.equal(waitAfter(4, smtpError(421)), 240);
    const capped = judgeFailure(new Error('x'), 4, NOW, { ...SETTINGS, retryMaxSeconds: 200 });
    assert.deepEqual(capped, { retry: true, nextAttemptAt: new Date(NOW.getTime() + 200_000) });
  });

  it('gives up after the last attempt, and at once on a 5xx reply', () => {
    assert.equal(waitAfter(5), 'attempts');
    assert.equal(waitAfter(1, smtpError(550)), 'permanent');
    assert.equal(waitAfter(1, smtpError(554)), 'permanent');
    assert.equal(waitAfter(1, smtpError(451)), 30);
  });
});

describe('describeFailure', () => {
  it('is one bounded line with the error code', () => {
    const error = Object.assign(new Error('Greeting never received\n  at line two'), {
      code: 'ETIMEDOUT',
    });
    assert.equal(describeFailure(error), 'ETIMEDOUT: Greeting never received at line two');
    assert.equal(describeFailure(new Error('x'.repeat(900))).length, 500);
  });
});
