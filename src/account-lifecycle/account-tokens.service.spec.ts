import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemClock } from '../common/clock/clock';
import type { Transaction } from '../database/database';
import type { AccountTokensRepository, NewAccountToken } from './account-tokens.repository';
import { ACCOUNT_TOKEN_PATTERN, AccountTokens, hashAccountToken } from './account-tokens.service';

const tx = {} as Transaction;

function fakeRepository() {
  const calls: string[] = [];
  const inserted: NewAccountToken[] = [];
  const repository = {
    insert: (_tx: Transaction, token: NewAccountToken) => {
      calls.push('insert');
      inserted.push(token);
      return Promise.resolve();
    },
    lockIssue: () => {
      calls.push('lockIssue');
      return Promise.resolve();
    },
    spendAll: () => {
      calls.push('spendAll');
      return Promise.resolve(0);
    },
    consume: (_tx: Transaction, _purpose: string, tokenHash: string) => {
      calls.push('consume');
      const found = inserted.find((token) => token.tokenHash === tokenHash);
      return Promise.resolve(found ? { userId: found.userId, email: found.email } : null);
    },
  };
  return { calls, inserted, repository: repository as unknown as AccountTokensRepository };
}

describe('AccountTokens', () => {
  it('issues 256 random bits as base64url, stores only the hash, spends the older ones first', async () => {
    const fake = fakeRepository();
    const tokens = new AccountTokens(fake.repository, new SystemClock());
    const token = await tokens.issue(tx, {
      userId: 'u1',
      purpose: 'password_reset',
      email: 'a@example.com',
      ttlSeconds: 1800,
    });
    assert.match(token, ACCOUNT_TOKEN_PATTERN);
    assert.deepEqual(fake.calls, ['lockIssue', 'spendAll', 'insert']);
    const [row] = fake.inserted;
    assert.equal(row.tokenHash, hashAccountToken(token));
    assert.ok(!JSON.stringify(row).includes(token));
    assert.equal(row.expiresAt.getTime() - row.now.getTime(), 1_800_000);
    assert.deepEqual(await tokens.consume(tx, 'password_reset', token), {
      userId: 'u1',
      email: 'a@example.com',
    });
  });

  it('answers a malformed token with null without a query', async () => {
    const fake = fakeRepository();
    const tokens = new AccountTokens(fake.repository, new SystemClock());
    for (const token of ['', 'short', 'A'.repeat(44), 'A'.repeat(42) + '=', 'A'.repeat(42) + '/']) {
      assert.equal(await tokens.consume(tx, 'email_verification', token), null);
    }
    assert.deepEqual(fake.calls, []);
  });
});
