import { Column, CreateDateColumn, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { TIMESTAMP_TYPE } from '../../database/column-types';
import { User } from '../../users/entities/user.entity';

/**
 * A user's TOTP authenticator (RFC 6238), at most one per user. The shared secret is stored
 * encrypted (MfaSecretBox, AES-256-GCM bound to the user id). Pending until `confirmed_at`: a
 * code from the app proves it was scanned. `last_used_step` is the time step of the last code
 * accepted, so a code works once.
 */
@Entity({ name: 'mfa_totp_factors' })
export class TotpFactor {
  @PrimaryColumn({ name: 'user_id', type: 'uuid', primaryKeyConstraintName: 'PK_mfa_totp_factors' })
  userId: string;

  @OneToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_mfa_totp_factors_user' })
  user: User;

  @Column({ name: 'secret_ciphertext', type: 'varchar', length: 255 })
  secretCiphertext: string;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @Column({ name: 'confirmed_at', type: TIMESTAMP_TYPE, nullable: true })
  confirmedAt: Date | null;

  // Steps of 30 s since 1970: an integer holds them for another 2000 years.
  @Column({ name: 'last_used_step', type: 'integer', nullable: true })
  lastUsedStep: number | null;
}
