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

export type SessionRevokeReason =
  | 'logout'
  | 'logout_all'
  | 'revoked_by_user'
  | 'password_change'
  | 'refresh_token_reuse'
  | 'user_deactivated'
  | 'mfa_reset'
  | 'replaced';

/** One login: the refresh tokens it rotates through, and what access tokens check per request. */
@Entity({ name: 'sessions' })
@Index('IDX_sessions_user', ['userId'])
@Index('IDX_sessions_oidc_session', ['oidcSessionUid'])
export class Session {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_sessions' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_sessions_user' })
  user: User;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: TIMESTAMP_TYPE })
  lastUsedAt: Date;

  @Column({ name: 'idle_expires_at', type: TIMESTAMP_TYPE })
  idleExpiresAt: Date;

  @Column({ name: 'absolute_expires_at', type: TIMESTAMP_TYPE })
  absoluteExpiresAt: Date;

  @Column({ name: 'revoked_at', type: TIMESTAMP_TYPE, nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoke_reason', type: 'varchar', length: 32, nullable: true })
  revokeReason: SessionRevokeReason | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  /**
   * How the session's user proved who they are (RFC 8176 values: `pwd`, `otp`, `hwk`, `swk`,
   * comma-separated); the access tokens of the session carry it as `amr`.
   */
  @Column({ type: 'varchar', length: 64, nullable: true })
  amr: string | null;

  /** When a second factor was last proven in this session (login or step-up). */
  @Column({ name: 'mfa_at', type: TIMESTAMP_TYPE, nullable: true })
  mfaAt: Date | null;

  /**
   * The OpenID Provider session (oidc-provider's Session uid) this session was started for by a
   * sign-in on the interaction pages; its tokens live and die with this session (src/oidc).
   */
  @Column({ name: 'oidc_session_uid', type: 'varchar', length: 255, nullable: true })
  oidcSessionUid: string | null;
}
