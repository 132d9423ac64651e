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
import { Session } from './session.entity';

/** A refresh token, stored only as the SHA-256 of the token. Rotated exactly once. */
@Entity({ name: 'refresh_tokens' })
@Index('UQ_refresh_tokens_hash', ['tokenHash'], { unique: true })
@Index('IDX_refresh_tokens_session', ['sessionId'])
export class RefreshToken {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_refresh_tokens' })
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @ManyToOne(() => Session, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'FK_refresh_tokens_session' })
  session: Session;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  /** The token this one replaced (null for the first token of a session). */
  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId: string | null;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @Column({ name: 'rotated_at', type: TIMESTAMP_TYPE, nullable: true })
  rotatedAt: Date | null;
}
