import { Injectable, Logger } from '@nestjs/common';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createTransport, type Transporter } from 'nodemailer';
import { AppConfig } from '../config/app-config';

/** One mail as the transport sends it. */
export interface MailMessage {
  id: string;
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

/** Bounded waits of an SMTP attempt: a server that stalls is a failed attempt, retried later. */
export const SMTP_TIMEOUTS_MS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
};

/**
 * Sends a mail, or throws (nodemailer's error: `responseCode` is the SMTP reply code, if the
 * server answered). SMTP_URL set: nodemailer over SMTP. Unset (the embedded default, SPEC §8):
 * the mail as an RFC 5322 .eml file under MAIL_DIR, and one info line with its links, so a
 * try-out needs no mail server. Nowhere else is a link of a mail logged.
 */
@Injectable()
export class MailTransport {
  private readonly logger = new Logger(MailTransport.name);
  private readonly smtp: Transporter | undefined;
  private readonly files: Transporter | undefined;

  constructor(private readonly config: AppConfig) {
    const { smtpUrl } = config.mail;
    if (smtpUrl !== undefined) {
      this.smtp = createTransport({ url: smtpUrl, ...SMTP_TIMEOUTS_MS });
    } else {
      this.files = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    }
  }

  /** Delivers `mail`; `now` names the .eml file. */
  async send(mail: MailMessage, now: Date): Promise<void> {
    const message = {
      from: this.config.mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      date: now,
    };
    if (this.smtp !== undefined) {
      await this.smtp.sendMail(message);
      return;
    }
    const built = (await this.files!.sendMail(message)) as { message: Buffer };
    const file = await this.writeFile(mail, now, built.message);
    const links = linksTo(this.config.publicUrl, mail.text);
    this.logger.log(
      `Mail ${mail.kind} to ${mail.to} written to ${file}` +
        (links.length > 0 ? `; links: ${links.join(' ')}` : ''),
    );
  }

  /** Closes pooled connections (`?pool=true`); the worker calls it once its sends are done. */
  close(): void {
    this.smtp?.close();
  }

  /** Atomically: a reader of MAIL_DIR sees a whole .eml or none. */
  private async writeFile(mail: MailMessage, now: Date, content: Buffer): Promise<string> {
    const directory = this.config.mail.directory;
    await mkdir(directory, { recursive: true });
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const kind = mail.kind.replace(/[^A-Za-z0-9_-]/g, '_');
    const file = path.join(directory, `${stamp}-${kind}-${mail.id}.eml`);
    const temporary = path.join(directory, `.${mail.id}.${process.pid}.tmp`);
    try {
      await writeFile(temporary, content, { mode: 0o600 });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return file;
  }
}

/** The links in `text` into the service (they start with PUBLIC_URL). */
export function linksTo(publicUrl: string, text: string): string[] {
  // A sentence's full stop or comma after a link is not part of it.
  const links = (text.match(/https?:\/\/[^\s<>"')\]]+/g) ?? []).map((link) =>
    link.replace(/[.,;:!?]+$/, ''),
  );
  return links.filter((link) => link === publicUrl || link.startsWith(`${publicUrl}/`));
}
