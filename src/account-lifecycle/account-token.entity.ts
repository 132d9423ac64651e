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

/** What a mailed token lets its holder do (SPEC §8). */
export const ACCOUNT_TOKEN_PURPOSES = [
  'email_verification',
  'password_reset',
  'email_change',
] as const;
export type AccountTokenPurpose = (typeof ACCOUNT_TOKEN_PURPOSES)[number];

/**
 * A token mailed to a user (verification, password reset, email change), stored only as the
 * SHA-256 of the token. Single use: `used_at` is set when it is spent, or when a newer token of
 * the same purpose (or a password change, for resets) replaces it.
 */
@Entity({ name: 'account_tokens' })
@Index('UQ_account_tokens_hash', ['tokenHash'], { unique: true })
@Index('IDX_account_tokens_user_purpose', ['userId', 'purpose'])
@Index('IDX_account_tokens_expires_at', ['expiresAt'])
export class AccountToken {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_account_tokens' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_account_tokens_user' })
  user: User;

  @Column({ type: 'varchar', length: 24 })
  purpose: AccountTokenPurpose;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  /**
   * The address the token was mailed to: verification and reset tokens die when the account's
   * email changes; for an email change, the new address it confirms.
   */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @Column({ name: 'expires_at', type: TIMESTAMP_TYPE })
  expiresAt: Date;

  @Column({ name: 'used_at', type: TIMESTAMP_TYPE, nullable: true })
  usedAt: Date | null;
}
