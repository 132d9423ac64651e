import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AccountToken } from '../src/account-lifecycle/account-token.entity';
import { OutboxMail, type OutboxStatus } from '../src/mail/outbox-mail.entity';
import { MfaChallenge } from '../src/mfa/entities/mfa-challenge.entity';
import { RetentionService } from '../src/retention/retention.service';
import { createUser } from './helpers/factories';
import { createTestApp, type TestApp } from './helpers/test-app';

// SPEC §12 for mail: finished outbox rows and spent account tokens go after MAIL_RETENTION_DAYS;
// what is still to be delivered or still usable stays. On both databases.

const DAY_MS = 86_400_000;

describe('retention of mails and account tokens', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({
      env: { MAIL_RETENTION_DAYS: '7', MAIL_POLL_INTERVAL_MS: '600000' },
    });
  });

  after(async () => {
    await t.close();
  });

  it('prunes sent and failed mails and used or expired tokens older than the retention, and keeps the rest', async () => {
    const now = t.clock.now().getTime();
    const ago = (days: number) => new Date(now - days * DAY_MS);
    const mails = t.dataSource.getRepository(OutboxMail);
    const mail = async (
      status: OutboxStatus,
      finishedAt: Date | null,
      createdAt = ago(30),
    ): Promise<string> => {
      const id = randomUUID();
      await mails.insert({
        id,
        kind: 'test-mail',
        recipient: `${id}@example.com`,
        userId: null,
        subject: 's',
        textBody: finishedAt === null ? 'text' : null,
        htmlBody: finishedAt === null ? 'html' : null,
        status,
        attempts: 1,
        nextAttemptAt: createdAt,
        claimedUntil: status === 'sending' ? new Date(now + 60_000) : null,
        lastError: null,
        messageId: `<${id}@localhost>`,
        createdAt,
        finishedAt,
      });
      return id;
    };
    const { user } = await createUser(t);
    const tokens = t.dataSource.getRepository(AccountToken);
    const token = async (expiresAt: Date, usedAt: Date | null): Promise<string> => {
      const id = randomUUID();
      await tokens.insert({
        id,
        userId: user.id,
        purpose: 'password_reset',
        tokenHash: randomBytes(32).toString('hex'),
        email: user.email,
        createdAt: ago(30),
        expiresAt,
        usedAt,
      });
      return id;
    };

    const prunedMails = [await mail('sent', ago(8)), await mail('failed', ago(7.5))];
    const keptMails = [
      await mail('sent', ago(6)),
      await mail('failed', ago(1)),
      await mail('pending', null),
      await mail('sending', null),
    ];
    const prunedTokens = [await token(ago(8), null), await token(new Date(now + DAY_MS), ago(9))];
    const keptTokens = [
      await token(new Date(now + DAY_MS), null),
      await token(ago(6), null),
      await token(ago(6), ago(6.5)),
    ];

    const challenges = t.dataSource.getRepository(MfaChallenge);
    const challenge = async (expiresAt: Date, usedAt: Date | null): Promise<string> => {
      const id = randomUUID();
      await challenges.insert({
        id,
        userId: user.id,
        purpose: 'login',
        tokenHash: randomBytes(32).toString('hex'),
        webauthnChallenge: null,
        amr: 'pwd',
        attempts: 0,
        createdAt: ago(30),
        expiresAt,
        usedAt,
      });
      return id;
    };
    const prunedChallenges = [await challenge(ago(8), null), await challenge(ago(7.9), ago(7.95))];
    const keptChallenges = [
      await challenge(new Date(now + 60_000), null),
      await challenge(ago(6), ago(6)),
    ];

    const result = await t.app.get(RetentionService).prune();

    assert.equal(result.mfaChallenges, 2);
    const leftChallenges = (await challenges.find()).map((row) => row.id);
    assert.deepEqual(leftChallenges.sort(), [...keptChallenges].sort());
    assert.ok(prunedChallenges.every((id) => !leftChallenges.includes(id)));
    assert.equal(result.mails, 2);
    assert.equal(result.accountTokens, 2);
    const left = (await mails.find()).map((row) => row.id);
    for (const id of keptMails) assert.ok(left.includes(id), `mail ${id} kept`);
    for (const id of prunedMails) assert.ok(!left.includes(id), `mail ${id} pruned`);
    const leftTokens = (await tokens.find()).map((row) => row.id);
    assert.deepEqual(leftTokens.sort(), [...keptTokens].sort());
    assert.ok(prunedTokens.every((id) => !leftTokens.includes(id)));

    const again = await t.app.get(RetentionService).prune();
    assert.deepEqual([again.mails, again.accountTokens, again.mfaChallenges], [0, 0, 0]);
  });
});
