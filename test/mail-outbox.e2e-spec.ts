import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { Transactions } from '../src/database/database';
import { MailOutboxRepository } from '../src/mail/mail-outbox.repository';
import { MailOutbox, type OutgoingMail } from '../src/mail/mail-outbox.service';
import { OutboxMail } from '../src/mail/outbox-mail.entity';
import { CLAIM_LEASE_SECONDS, OutboxWorker } from '../src/mail/outbox-worker';
import { Metrics } from '../src/metrics/metrics.service';
import { createUser } from './helpers/factories';
import { parsePrometheus, valueOf } from './helpers/prometheus';
import {
  startSmtpServer,
  startStallingServer,
  tokenIn,
  type TestSmtpServer,
} from './helpers/smtp-server';
import { createTestApp, testEnvironment, type TestApp } from './helpers/test-app';
import { createTestDatabase } from './helpers/test-database';

// The outbox end to end: queued in the caller's transaction, delivered by the worker to a real
// SMTP server (test/helpers/smtp-server.ts), with retries, give-up, a crashed instance and two
// instances on one database. Timers are out of the way (a long poll interval): passes run when
// a commit wakes the worker or when a test calls runOnce after moving the TestClock.

const QUIET = { MAIL_POLL_INTERVAL_MS: '600000' };
let counter = 0;

function mail(overrides: Partial<OutgoingMail> = {}): OutgoingMail {
  counter += 1;
  const to = `rcpt${counter}-${Date.now()}@example.com`;
  return {
    kind: 'test-mail',
    to,
    userId: null,
    subject: `Hello ${counter}`,
    text: `Plain text ${counter}: http://localhost/verify-email?token=tok${counter}`,
    html: `<p>HTML <b>${counter}</b></p>`,
    ...overrides,
  };
}

function queue(t: TestApp, ...mails: OutgoingMail[]): Promise<void> {
  return t.app.get(Transactions).run(async (tx) => {
    for (const one of mails) await t.app.get(MailOutbox).queue(tx, one);
  });
}

function rowOf(t: TestApp, to: string): Promise<OutboxMail | null> {
  return t.dataSource.getRepository(OutboxMail).findOneBy({ recipient: to });
}

/** Polls (bounded) until `read` gives a value `accept` takes. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline)
      assert.fail(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const statusOf = (t: TestApp, to: string, status: string, attempts?: number) =>
  until(
    `${to} ${status}`,
    () => rowOf(t, to),
    (row) => row?.status === status && (attempts === undefined || row.attempts === attempts),
  );

async function deliveries(t: TestApp, outcome: string): Promise<number> {
  return valueOf(
    parsePrometheus(await t.app.get(Metrics).render()),
    'identity_mail_deliveries_total',
    {
      outcome,
    },
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('Mail outbox over SMTP', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let worker: OutboxWorker;

  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: {
        ...QUIET,
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Identity <no-reply@id.example.com>',
        MAIL_MAX_ATTEMPTS: '3',
        MAIL_RETRY_BASE_SECONDS: '30',
        MAIL_RETRY_MAX_SECONDS: '3600',
      },
    });
    worker = t.app.get(OutboxWorker);
  });

  after(async () => {
    await t.close();
    await smtp.close();
  });

  const received = (to: string) => smtp.mails.filter((one) => one.envelope.to.includes(to));

  it('delivers a mail queued in a committed transaction at once, exactly once, and clears its bodies', async () => {
    const sent = mail();
    await queue(t, sent);

    const arrived = await smtp.waitForMail((one) => one.envelope.to.includes(sent.to));
    assert.equal(arrived.subject, sent.subject);
    assert.equal(arrived.text?.trim(), sent.text);
    assert.equal(arrived.html, sent.html);
    assert.deepEqual(arrived.from?.value, [
      { name: 'Identity', address: 'no-reply@id.example.com' },
    ]);
    assert.equal(tokenIn(arrived, '/verify-email'), `tok${counter}`);
    const row = await statusOf(t, sent.to, 'sent', 1);
    assert.equal(arrived.messageId, row?.messageId);
    assert.equal(row?.textBody, null);
    assert.equal(row?.htmlBody, null);
    assert.ok(row?.finishedAt instanceof Date);

    assert.equal(await worker.runOnce(), 0);
    assert.equal(received(sent.to).length, 1);
  });

  it('sends nothing of a rolled-back transaction', async () => {
    const dropped = mail();
    await assert.rejects(
      t.app.get(Transactions).run(async (tx) => {
        await t.app.get(MailOutbox).queue(tx, dropped);
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await worker.runOnce(), 0);
    assert.equal(await rowOf(t, dropped.to), null);
    assert.deepEqual(received(dropped.to), []);
  });

  it('sends the mail of a savepoint once the outer transaction commits, none of a savepoint rolled back', async () => {
    const transactions = t.app.get(Transactions);
    const outbox = t.app.get(MailOutbox);
    const kept = mail();
    const dropped = mail();
    await transactions.run(async (outer) => {
      await transactions.run((savepoint) => outbox.queue(savepoint, kept), outer);
      await assert.rejects(
        transactions.run(async (savepoint) => {
          await outbox.queue(savepoint, dropped);
          throw new Error('roll back the savepoint');
        }, outer),
        /roll back the savepoint/,
      );
    });
    await smtp.waitForMail((one) => one.envelope.to.includes(kept.to));
    await statusOf(t, kept.to, 'sent', 1);
    assert.equal(await rowOf(t, dropped.to), null);
    assert.deepEqual(received(dropped.to), []);
  });

  it('retries after a 451 with the back-off and delivers once on the second attempt', async () => {
    smtp.failNext(1, 451, 'Greylisted, try again later');
    const greylisted = mail();
    await queue(t, greylisted);
    const first = await statusOf(t, greylisted.to, 'pending', 1);
    assert.match(first?.lastError ?? '', /451/);
    assert.equal(
      first?.nextAttemptAt.getTime(),
      (first?.createdAt.getTime() ?? 0) + 30_000,
      'the first retry waits MAIL_RETRY_BASE_SECONDS',
    );
    assert.deepEqual(received(greylisted.to), []);

    t.clock.advance(29);
    assert.equal(await worker.runOnce(), 0, 'not due before the back-off');
    t.clock.advance(1);
    assert.equal(await worker.runOnce(), 1);

    await smtp.waitForMail((one) => one.envelope.to.includes(greylisted.to));
    const row = await statusOf(t, greylisted.to, 'sent', 2);
    assert.equal(row?.textBody, null);
    assert.equal(received(greylisted.to).length, 1);
  });

  it('gives up at once on a 550: failed, audited, counted, never sent', async () => {
    const user = await createUser(t);
    const failedBefore = await deliveries(t, 'failed');
    smtp.failNext(1, 550, 'No such user here');
    const refused = mail({ to: `nobody-${Date.now()}@example.com`, userId: user.user.id });
    await queue(t, refused);

    const row = await statusOf(t, refused.to, 'failed', 1);
    assert.match(row?.lastError ?? '', /550/);
    assert.equal(row?.textBody, null);
    assert.equal(row?.htmlBody, null);
    const events = await t.dataSource
      .getRepository(AuditEvent)
      .findBy({ type: 'mail.failed', subjectUserId: user.user.id });
    assert.equal(events.length, 1);
    const details = JSON.parse(events[0]?.details ?? '{}') as Record<string, unknown>;
    assert.equal(details.kind, 'test-mail');
    assert.equal(details.attempts, 1);
    assert.equal(details.mailId, row?.id);
    assert.match(String(details.lastError), /550/);
    assert.equal(await deliveries(t, 'failed'), failedBefore + 1);

    t.clock.advance(3600);
    assert.equal(await worker.runOnce(), 0);
    assert.deepEqual(received(refused.to), []);
  });

  it('gives up after MAIL_MAX_ATTEMPTS transient failures, each retry doubling the wait', async () => {
    const retriedBefore = await deliveries(t, 'retried');
    const failedBefore = await deliveries(t, 'failed');
    smtp.failNext(3, 421, 'Service not available', 'data');
    const unlucky = mail();
    await queue(t, unlucky);
    await statusOf(t, unlucky.to, 'pending', 1);

    t.clock.advance(30);
    assert.equal(await worker.runOnce(), 1);
    const second = await statusOf(t, unlucky.to, 'pending', 2);
    assert.equal(second?.nextAttemptAt.getTime(), t.clock.now().getTime() + 60_000);

    t.clock.advance(60);
    assert.equal(await worker.runOnce(), 1);
    const row = await statusOf(t, unlucky.to, 'failed', 3);
    assert.match(row?.lastError ?? '', /421/);
    assert.equal(await deliveries(t, 'retried'), retriedBefore + 2);
    assert.equal(await deliveries(t, 'failed'), failedBefore + 1);
    const events = await t.dataSource.getRepository(AuditEvent).findBy({ type: 'mail.failed' });
    assert.ok(events.some((event) => event.details.includes(row?.id ?? '-')));

    t.clock.advance(7200);
    assert.equal(await worker.runOnce(), 0);
    assert.deepEqual(received(unlucky.to), []);
  });

  it('counts the outbox rows by status in the metrics', async () => {
    const pendingMail = mail();
    await t.app.get(Transactions).run((tx) =>
      // Straight into the table: no worker is told about it.
      t.app.get(MailOutboxRepository).insert(tx, {
        id: crypto.randomUUID(),
        kind: 'test-mail',
        recipient: pendingMail.to,
        userId: null,
        subject: 's',
        textBody: 't',
        htmlBody: 'h',
        messageId: `<${crypto.randomUUID()}@localhost>`,
        now: new Date(t.clock.now().getTime() + 3_600_000),
      }),
    );
    const samples = parsePrometheus(await t.app.get(Metrics).render());
    const count = (status: string) => valueOf(samples, 'identity_mail_outbox_mails', { status });
    const rows = await t.dataSource.getRepository(OutboxMail).find();
    for (const status of ['pending', 'sending', 'sent', 'failed']) {
      assert.equal(count(status), rows.filter((row) => row.status === status).length, status);
    }
    assert.ok(count('pending') >= 1);
    assert.ok(count('failed') >= 2);
  });
});

describe('Mail outbox without SMTP_URL', () => {
  it('writes each mail as a parsable .eml file in MAIL_DIR and marks it sent', async () => {
    const t = await createTestApp({ env: QUIET });
    try {
      const written = mail();
      await queue(t, written);
      const row = await statusOf(t, written.to, 'sent', 1);
      const files = readdirSync(t.config.mail.directory).filter((name) => name.endsWith('.eml'));
      const file = files.find((name) => name.includes(row?.id ?? '-'));
      assert.ok(file, `no .eml of ${row?.id} in ${files.join(', ')}`);
      const parsed = await simpleParser(readFileSync(path.join(t.config.mail.directory, file)));
      assert.equal(parsed.subject, written.subject);
      assert.equal(parsed.messageId, row?.messageId);
      assert.equal(tokenIn(parsed, '/verify-email'), `tok${counter}`);
    } finally {
      await t.close();
      rmSync(t.config.mail.directory, { recursive: true, force: true });
    }
  });
});

describe('Mail outbox: an SMTP server that is down', () => {
  it('retries a refused connection with the back-off, then delivers once to the server that came up', async () => {
    const port = await freePort();
    const t = await createTestApp({ env: { ...QUIET, SMTP_URL: `smtp://127.0.0.1:${port}` } });
    let smtp: TestSmtpServer | undefined;
    try {
      const waiting = mail();
      await queue(t, waiting);
      const first = await statusOf(t, waiting.to, 'pending', 1);
      assert.match(first?.lastError ?? '', /ECONNREFUSED/);

      smtp = await startSmtpServer({ port });
      const worker = t.app.get(OutboxWorker);
      assert.equal(await worker.runOnce(), 0, 'still backing off');
      t.clock.advance(30);
      assert.equal(await worker.runOnce(), 1);
      await smtp.waitForMail((one) => one.envelope.to.includes(waiting.to));
      await statusOf(t, waiting.to, 'sent', 2);
      assert.equal(smtp.mails.length, 1);
    } finally {
      await t.close();
      await smtp?.close();
    }
  });
});

describe('Mail outbox: two instances on one database', () => {
  it('delivers each of 40 mails exactly once while both instances run passes at the same time', async () => {
    const smtp = await startSmtpServer();
    const a = await createTestApp({ env: { ...QUIET, SMTP_URL: smtp.url } });
    const b = await createTestApp({ database: a.database, env: { ...QUIET, SMTP_URL: smtp.url } });
    try {
      const mails = Array.from({ length: 40 }, () => mail());
      const repository = a.app.get(MailOutboxRepository);
      // Queued without waking either worker, so that both passes below compete for them.
      await a.app.get(Transactions).run(async (tx) => {
        for (const one of mails) {
          const id = crypto.randomUUID();
          await repository.insert(tx, {
            id,
            kind: one.kind,
            recipient: one.to,
            userId: null,
            subject: one.subject,
            textBody: one.text,
            htmlBody: one.html,
            messageId: `<${id}@localhost>`,
            now: a.clock.now(),
          });
        }
      });
      const passes = [a, b, a, b].map((app) => app.app.get(OutboxWorker).runOnce());
      const handled = (await Promise.all(passes)).reduce((sum, count) => sum + count, 0);

      assert.equal(handled, 40);
      await until(
        '40 mails',
        () => Promise.resolve(smtp.mails.length),
        (n) => n >= 40,
      );
      const ids = smtp.mails.map((one) => one.messageId);
      assert.equal(new Set(ids).size, 40);
      assert.equal(ids.length, 40);
      const rows = await a.dataSource.getRepository(OutboxMail).find();
      assert.deepEqual(
        [...new Set(rows.map((row) => `${row.status}/${row.attempts}`))],
        ['sent/1'],
      );
    } finally {
      await b.close();
      await a.close();
      await smtp.close();
    }
  });
});

describe('Mail outbox: a crashed instance', () => {
  it('delivers, once its claim lapses, a mail whose sender was killed mid-send', async () => {
    const database = await createTestDatabase();
    const stalling = await startStallingServer();
    const smtp = await startSmtpServer();
    const survivor = await createTestApp({ database, env: { ...QUIET, SMTP_URL: smtp.url } });
    const orphan = mail();
    const id = crypto.randomUUID();
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'src', 'main.js')], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        ...testEnvironment(database, {
          SMTP_URL: stalling.url,
          MAIL_POLL_INTERVAL_MS: '50',
          HOST: '127.0.0.1',
          PORT: '0',
        }),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await survivor.app.get(Transactions).run((tx) =>
        survivor.app.get(MailOutboxRepository).insert(tx, {
          id,
          kind: orphan.kind,
          recipient: orphan.to,
          userId: null,
          subject: orphan.subject,
          textBody: orphan.text,
          htmlBody: orphan.html,
          messageId: `<${id}@localhost>`,
          now: survivor.clock.now(),
        }),
      );
      // The other instance claims it and hangs in the SMTP greeting; then it dies.
      await until(
        'the claim of the other instance',
        async () => ({
          row: await rowOf(survivor, orphan.to),
          connections: stalling.connections(),
        }),
        ({ row, connections }) => row?.status === 'sending' && connections > 0,
        60_000,
      ).catch((error: Error) => assert.fail(`${error.message}\n${stderr}`));
      child.kill('SIGKILL');
      await once(child, 'exit');

      const worker = survivor.app.get(OutboxWorker);
      assert.equal(await worker.runOnce(), 0, 'the claim still holds');
      survivor.clock.advance(CLAIM_LEASE_SECONDS + 60);
      assert.equal(await worker.runOnce(), 1);
      await smtp.waitForMail((one) => one.envelope.to.includes(orphan.to));
      await statusOf(survivor, orphan.to, 'sent', 2);
      assert.equal(smtp.mails.filter((one) => one.messageId === `<${id}@localhost>`).length, 1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      await survivor.close();
      await stalling.close();
      await smtp.close();
      await database.drop();
    }
  });
});
