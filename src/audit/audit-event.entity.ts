import { Column, Entity, Index, PrimaryColumn, ValueTransformer } from 'typeorm';
import { TIMESTAMP_TYPE } from '../database/column-types';
import type { AuditEventType } from './audit-event-type';

// PostgreSQL returns bigint as a string; 2^53 events is beyond any audit log's reach.
const bigintAsNumber: ValueTransformer = {
  to: (value: unknown) => value,
  from: (value: unknown) => (value === null ? null : Number(value)),
};

/**
 * One entry of the append-only audit log. Each row's `hash` is a keyed MAC of its content and the
 * previous row's hash, so editing or removing a row breaks the chain (see AuditService.verifyChain).
 * Actor and subject are plain ids, not foreign keys: events outlive the users they name.
 */
@Entity({ name: 'audit_events' })
@Index('UQ_audit_events_sequence', ['sequence'], { unique: true })
@Index('UQ_audit_events_hash', ['hash'], { unique: true })
@Index('IDX_audit_events_type_occurred_at', ['type', 'occurredAt'])
@Index('IDX_audit_events_subject_occurred_at', ['subjectUserId', 'occurredAt'])
@Index('IDX_audit_events_actor_occurred_at', ['actorId', 'occurredAt'])
@Index('IDX_audit_events_occurred_at', ['occurredAt'])
export class AuditEvent {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_audit_events' })
  id: string;

  /** Position in the chain: 1, 2, 3, ... with no gaps, assigned under the append lock. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  sequence: number;

  @Column({ name: 'occurred_at', type: TIMESTAMP_TYPE })
  occurredAt: Date;

  @Column({ type: 'varchar', length: 64 })
  type: AuditEventType;

  /** Who did it; null for the system or an anonymous caller. */
  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  /** The account the event is about. */
  @Column({ name: 'subject_user_id', type: 'uuid', nullable: true })
  subjectUserId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  /** Canonical JSON (sorted keys), stored as text so the hashed bytes are the stored bytes. */
  @Column({ type: 'text' })
  details: string;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash: string;

  /**
   * HMAC-SHA256 with the audit key `keyId` over the content and prev_hash; for events from
   * before keyed chaining (keyId null), the plain SHA-256 of the same fields.
   */
  @Column({ type: 'varchar', length: 64 })
  hash: string;

  /** Which AUDIT_KEY made `hash` (see auditKeyId); null: a legacy, unkeyed event. */
  @Column({ name: 'key_id', type: 'varchar', length: 16, nullable: true })
  keyId: string | null;
}
