import { Logger, type LoggerService } from '@nestjs/common';
import { simpleParser } from 'mailparser';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAppConfig } from '../config/app-config';
import { linksTo, MailTransport } from './mail-transport';

// The embedded default (no SMTP_URL, SPEC §8): each mail an .eml file and one info line with
// its links into the service. Over SMTP: test/mail-outbox.e2e-spec.ts.

describe('MailTransport without SMTP_URL', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'identity-mail-'));
  const mailDir = path.join(directory, 'mail');
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('writes a parsable .eml file and logs the links into the service, nothing else of the body', async () => {
    const config = loadAppConfig({
      NODE_ENV: 'test',
      JWT_SECRET: randomBytes(48).toString('base64url'),
      MAIL_DIR: mailDir,
      PUBLIC_URL: 'https://id.example.com/',
      MAIL_FROM: 'Identity <no-reply@id.example.com>',
    });
    const lines: Array<{ level: string; message: string }> = [];
    const capture = (level: string) => (message: unknown) => {
      lines.push({ level, message: String(message) });
    };
    const logger: LoggerService = {
      log: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
      debug: capture('debug'),
      verbose: capture('verbose'),
    };
    Logger.overrideLogger(logger);
    const id = randomUUID();
    const link = 'https://id.example.com/verify-email?token=s3cret-token';
    try {
      await new MailTransport(config).send(
        {
          id,
          kind: 'email-verification',
          to: 'ada@example.com',
          subject: 'Confirm your address',
          text: `Hello Ada,\n\nconfirm: ${link}\nelsewhere: https://other.example.org/x?token=1\n`,
          html: `<p>Hello Ada, <a href="${link}">confirm</a></p>`,
          messageId: `<${id}@id.example.com>`,
        },
        new Date('2026-12-02T07:30:00.123Z'),
      );
    } finally {
      Logger.overrideLogger(false);
    }

    const files = readdirSync(mailDir);
    assert.deepEqual(files, [`20261202T073000Z-email-verification-${id}.eml`]);
    const raw = readFileSync(path.join(mailDir, files[0] ?? ''));
    assert.ok(raw.includes('\r\n'), 'CRLF line ends (RFC 5322)');
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, 'Confirm your address');
    assert.equal(parsed.messageId, `<${id}@id.example.com>`);
    assert.deepEqual(parsed.from?.value, [
      { name: 'Identity', address: 'no-reply@id.example.com' },
    ]);
    assert.equal(parsed.date?.toISOString(), '2026-12-02T07:30:00.000Z');
    assert.match(
      parsed.text ?? '',
      /confirm: https:\/\/id\.example\.com\/verify-email\?token=s3cret-token/,
    );
    assert.match(String(parsed.html), /<a href="https:\/\/id\.example\.com\/verify-email/);

    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'info');
    assert.match(lines[0]?.message ?? '', /email-verification/);
    assert.match(lines[0]?.message ?? '', /ada@example\.com/);
    assert.ok(lines[0]?.message.includes(link));
    assert.ok(!lines[0]?.message.includes('other.example.org'));
    assert.ok(!lines[0]?.message.includes('Hello'));
  });

  it('finds only the links under PUBLIC_URL', () => {
    assert.deepEqual(
      linksTo(
        'https://id.example.com/base',
        'a https://id.example.com/base/x?t=1. b https://id.example.com/based c https://id.example.com/base',
      ),
      ['https://id.example.com/base/x?t=1', 'https://id.example.com/base'],
    );
  });
});
