import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccountTokens } from '../src/account-lifecycle/account-tokens.service';
import { Transactions } from '../src/database/database';
import { createUser } from './helpers/factories';
import { createTestApp, type TestApp } from './helpers/test-app';

describe('account tokens (AccountTokens on the real database)', () => {
  let t: TestApp;
  let tokens: AccountTokens;
  let transactions: Transactions;
  before(async () => {
    t = await createTestApp();
    tokens = t.app.get(AccountTokens);
    transactions = t.app.get(Transactions);
  });
  after(async () => {
    await t.close();
  });

  const issue = (userId: string, purpose: 'email_verification' | 'password_reset', ttl = 600) =>
    transactions.run((tx) =>
      tokens.issue(tx, { userId, purpose, email: 'x@example.com', ttlSeconds: ttl }),
    );
  const consume = (purpose: 'email_verification' | 'password_reset', token: string) =>
    transactions.run((tx) => tokens.consume(tx, purpose, token));

  it('spends a token once, for its purpose only, and only before it expires', async () => {
    const { user } = await createUser(t);
    const token = await issue(user.id, 'password_reset', 60);
    assert.equal(await consume('email_verification', token), null);
    assert.deepEqual(await consume('password_reset', token), {
      userId: user.id,
      email: 'x@example.com',
    });
    assert.equal(await consume('password_reset', token), null);

    const late = await issue(user.id, 'password_reset', 60);
    t.clock.advance(61);
    assert.equal(await consume('password_reset', late), null);
  });

  it('lets a newer token, or spendAll, spend the older ones of the same purpose alone', async () => {
    const { user } = await createUser(t);
    const older = await issue(user.id, 'password_reset');
    const verification = await issue(user.id, 'email_verification');
    const newer = await issue(user.id, 'password_reset');
    assert.equal(await consume('password_reset', older), null);
    await transactions.run((tx) => tokens.spendAll(tx, user.id, 'password_reset'));
    assert.equal(await consume('password_reset', newer), null);
    assert.equal((await consume('email_verification', verification))?.userId, user.id);
  });

  it('gives a token to exactly one of concurrent consumers', async () => {
    const { user } = await createUser(t);
    const token = await issue(user.id, 'password_reset');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => consume('password_reset', token)),
    );
    assert.equal(results.filter((result) => result !== null).length, 1);
  });
});
