import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
} from 'typeorm';
import { TIMESTAMP_TYPE } from '../database/column-types';
import { User } from '../users/entities/user.entity';

export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'failed'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/**
 * A mail in the outbox (SPEC §8): inserted in the transaction of the change that causes it,
 * delivered by the outbox worker. `pending` waits for `next_attempt_at`; `sending` is claimed by
 * a worker until `claimed_until` (a crashed worker's claim lapses and the mail is tried again);
 * `sent` and `failed` are final, and their bodies are cleared (they hold links with tokens).
 */
@Entity({ name: 'mail_outbox' })
@Index('IDX_mail_outbox_due', ['status', 'nextAttemptAt'])
@Index('IDX_mail_outbox_user', ['userId'])
export class OutboxMail {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_mail_outbox' })
  id: string;

  /** Which mail (a template name), for logs, metrics and the audit trail. */
  @Column({ type: 'varchar', length: 40 })
  kind: string;

  @Column({ type: 'varchar', length: 320 })
  recipient: string;

  /** The user the mail is about; null once that user is deleted (the mail still goes). */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @ManyToOne(() => User, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_mail_outbox_user' })
  user: User | null;

  @Column({ type: 'varchar', length: 255 })
  subject: string;

  @Column({ name: 'text_body', type: 'text', nullable: true })
  textBody: string | null;

  @Column({ name: 'html_body', type: 'text', nullable: true })
  htmlBody: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: OutboxStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: TIMESTAMP_TYPE })
  nextAttemptAt: Date;

  @Column({ name: 'claimed_until', type: TIMESTAMP_TYPE, nullable: true })
  claimedUntil: Date | null;

  /** The last delivery error (SMTP reply or connection error), bounded; never the body. */
  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  /** The Message-ID the mail was sent with (the same on every attempt). */
  @Column({ name: 'message_id', type: 'varchar', length: 255 })
  messageId: string;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  /** When it was sent, or given up. */
  @Column({ name: 'finished_at', type: TIMESTAMP_TYPE, nullable: true })
  finishedAt: Date | null;
}
