import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
} from 'typeorm';
import { TIMESTAMP_TYPE } from '../../database/column-types';
import { User } from '../../users/entities/user.entity';

/** What a challenge is for. */
export const MFA_CHALLENGE_PURPOSES = [
  // A password login of an enrolled user, waiting for its second factor (the mfa_token).
  'login',
  // A usernameless passkey sign-in: only the WebAuthn challenge, no user yet.
  'passkey_login',
  // A signed-in user registering a passkey.
  'passkey_registration',
  // A signed-in user proving a second factor again (step-up) with a passkey.
  'step_up',
] as const;
export type MfaChallengePurpose = (typeof MFA_CHALLENGE_PURPOSES)[number];

/**
 * A short-lived, single-use challenge of a second-factor step. The `mfa_token` handed to the
 * client is stored only as its SHA-256; a WebAuthn challenge is stored as issued (it is public,
 * and only useful with the authenticator's signature). `attempts` counts wrong answers.
 */
@Entity({ name: 'mfa_challenges' })
@Index('UQ_mfa_challenges_token_hash', ['tokenHash'], { unique: true })
@Index('UQ_mfa_challenges_webauthn_challenge', ['webauthnChallenge'], { unique: true })
@Index('IDX_mfa_challenges_expires_at', ['expiresAt'])
export class MfaChallenge {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_mfa_challenges' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_mfa_challenges_user' })
  user: User | null;

  @Column({ type: 'varchar', length: 24 })
  purpose: MfaChallengePurpose;

  @Column({ name: 'token_hash', type: 'varchar', length: 64, nullable: true })
  tokenHash: string | null;

  @Column({ name: 'webauthn_challenge', type: 'varchar', length: 128, nullable: true })
  webauthnChallenge: string | null;

  /** The methods already proven when the challenge was made (e.g. `pwd`), comma-separated. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  amr: string | null;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @Column({ name: 'expires_at', type: TIMESTAMP_TYPE })
  expiresAt: Date;

  @Column({ name: 'used_at', type: TIMESTAMP_TYPE, nullable: true })
  usedAt: Date | null;
}
