import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Transactions } from '../src/database/database';
import { MailOutbox, type OutgoingMail } from '../src/mail/mail-outbox.service';
import { createTestApp, type TestApp } from './helpers/test-app';

function mail(to: string, overrides: Partial<OutgoingMail> = {}): OutgoingMail {
  return {
    kind: 'test-mail',
    to,
    userId: null,
    subject: `Hello ${to}`,
    text: `Plain text for ${to}: http://localhost/verify-email?token=abc`,
    html: `<p>HTML for ${to}</p>`,
    ...overrides,
  };
}

describe('Mail outbox', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ env: { MAIL_POLL_INTERVAL_MS: '600000' } });
  });

  after(async () => {
    await t.close();
  });

  async function rows(to: string): Promise<Array<Record<string, unknown>>> {
    return t.dataSource.query(
      t.database.kind === 'postgres'
        ? 'SELECT * FROM mail_outbox WHERE recipient = $1'
        : 'SELECT * FROM mail_outbox WHERE recipient = ?',
      [to],
    );
  }

  it('stores a mail queued in a committed transaction, and none of a rolled-back one', async () => {
    const outbox = t.app.get(MailOutbox);
    const transactions = t.app.get(Transactions);
    await transactions.run((tx) => outbox.queue(tx, mail('kept@example.com')));
    await assert.rejects(
      transactions.run(async (tx) => {
        await outbox.queue(tx, mail('dropped@example.com'));
        throw new Error('roll back');
      }),
      /roll back/,
    );
    const [kept] = await rows('kept@example.com');
    assert.equal(kept?.kind, 'test-mail');
    assert.match(String(kept?.message_id), /^<[0-9a-f-]{36}@localhost>$/);
    assert.deepEqual(await rows('dropped@example.com'), []);
  });
});
