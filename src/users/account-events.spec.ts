import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Transaction } from '../database/database';
import { AccountEvents } from './account-events';

describe('AccountEvents', () => {
  const tx = {} as Transaction;

  it('runs every listener, in order, with the transaction of the change', async () => {
    const events = new AccountEvents();
    const seen: string[] = [];
    events.subscribe((given, event) => {
      assert.equal(given, tx);
      seen.push(`first:${event.userId}`);
      return Promise.resolve();
    });
    events.subscribe((_given, event) => {
      seen.push(`second:${event.userId}`);
      return Promise.resolve();
    });
    await events.publish(tx, { type: 'deactivated', userId: 'u1' });
    assert.deepEqual(seen, ['first:u1', 'second:u1']);
  });

  it('fails the change when a listener fails, and when nobody listens', async () => {
    const failing = new AccountEvents();
    failing.subscribe(() => Promise.reject(new Error('revocation failed')));
    await assert.rejects(
      failing.publish(tx, { type: 'deactivated', userId: 'u1' }),
      /revocation failed/,
    );
    await assert.rejects(
      new AccountEvents().publish(tx, { type: 'deactivated', userId: 'u1' }),
      /no listener/,
    );
  });
});
