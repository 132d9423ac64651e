import { ApiProperty } from '@nestjs/swagger';
import type { AuditEvent } from '../audit-event.entity';
import { AUDIT_EVENT_TYPES, AuditEventType } from '../audit-event-type';

export class AuditEventDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 42, description: 'Position in the hash chain; newer events are higher' })
  sequence: number;

  @ApiProperty({ format: 'date-time' })
  occurredAt: string;

  @ApiProperty({ enum: AUDIT_EVENT_TYPES, example: 'role.granted' })
  type: AuditEventType;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'Who did it; null for the system (CLI) or an anonymous caller',
  })
  actorId: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The account the event is about (it may since have been deleted)',
  })
  subjectUserId: string | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  ip: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64)' })
  userAgent: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'X-Request-Id of the request' })
  requestId: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { role: 'ROLE_MODERATOR' },
    description: 'Event-specific facts; never credentials',
  })
  details: Record<string, unknown>;
}

export class AuditEventPageDto {
  @ApiProperty({ type: [AuditEventDto] })
  items: AuditEventDto[];

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 1,
    description: 'Events matching the filters',
  })
  total: number;

  @ApiProperty({ type: 'integer', minimum: 1, example: 1 })
  page: number;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 20 })
  limit: number;
}

export function toAuditEventDto(event: AuditEvent): AuditEventDto {
  return {
    id: event.id,
    sequence: event.sequence,
    occurredAt: event.occurredAt.toISOString(),
    type: event.type,
    actorId: event.actorId,
    subjectUserId: event.subjectUserId,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    details: parseDetails(event.details),
  };
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Only a row edited outside the service can hold anything but an object; show it as it is.
  }
  return { unparsed: text };
}
