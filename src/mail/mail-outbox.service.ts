import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock/clock';
import { AppConfig } from '../config/app-config';
import type { Transaction } from '../database/database';
import { MailOutboxRepository } from './mail-outbox.repository';

/** A mail to send: rendered by its feature, delivered by the outbox. */
export interface OutgoingMail {
  /** The template's name, e.g. 'email-verification' (at most 40 characters): logs, metrics, audit. */
  kind: string;
  /** One address. */
  to: string;
  /** The user the mail is about, if any. */
  userId: string | null;
  subject: string;
  text: string;
  html: string;
}

/**
 * SPEC §8: mail is queued in the transaction of the change that causes it (a rolled-back change
 * sends nothing, a crash loses nothing) and delivered by the outbox worker, woken as soon as
 * that transaction commits (docs/decisions.md, "Mail outbox").
 */
@Injectable()
export class MailOutbox {
  private readonly listeners = new Set<() => void>();
  private readonly host: string;

  constructor(
    private readonly outbox: MailOutboxRepository,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.host = new URL(config.publicUrl).hostname;
  }

  /** Queues `mail` in `tx`: it goes out once `tx` commits, never if it rolls back. */
  async queue(tx: Transaction, mail: OutgoingMail): Promise<void> {
    checkMail(mail);
    const id = randomUUID();
    await this.outbox.insert(tx, {
      id,
      kind: mail.kind,
      recipient: mail.to,
      userId: mail.userId,
      subject: mail.subject,
      textBody: mail.text,
      htmlBody: mail.html,
      // The same Message-ID on every attempt: a receiver can spot a repeated delivery.
      messageId: `<${id}@${this.host}>`,
      now: this.clock.now(),
    });
    this.outbox.afterCommit(tx, this.notify);
  }

  /** Calls `listener` whenever queued mail has been committed; returns the unsubscribe. */
  onQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly notify = (): void => {
    for (const listener of this.listeners) listener();
  };
}

const HEADER_BREAK = /[\r\n]/;

/** A caller's mistake, not the recipient's: refused before anything is stored. */
function checkMail(mail: OutgoingMail): void {
  if (mail.kind.length === 0 || mail.kind.length > 40) {
    throw new Error(`mail kind must be 1 to 40 characters: ${mail.kind}`);
  }
  if (mail.to.length > 320 || HEADER_BREAK.test(mail.to) || !mail.to.includes('@')) {
    throw new Error(`mail ${mail.kind}: not one address`);
  }
  if (mail.subject.length > 255 || HEADER_BREAK.test(mail.subject)) {
    throw new Error(`mail ${mail.kind}: the subject must be one line of at most 255 characters`);
  }
}
