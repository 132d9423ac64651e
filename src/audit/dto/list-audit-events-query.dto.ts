import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsUUID, Matches } from 'class-validator';
import { PaginationQueryDto } from '../../common/http/pagination.dto';
import { AUDIT_EVENT_TYPES, AuditEventType } from '../audit-event-type';

// A date-time with an explicit offset: a bare local time would mean whatever the server's zone is.
const DATE_TIME_WITH_OFFSET =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const DATE_TIME_MESSAGE = '$property must be an ISO 8601 date-time with Z or an offset';

export class ListAuditEventsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: AUDIT_EVENT_TYPES, example: 'role.granted' })
  @IsOptional()
  @IsIn(AUDIT_EVENT_TYPES)
  type?: AuditEventType;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Events where this user is the actor or the subject',
  })
  @IsOptional()
  @IsUUID('all')
  userId?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-01-01T00:00:00Z',
    description: 'Events at or after this instant',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: DATE_TIME_MESSAGE })
  @Matches(DATE_TIME_WITH_OFFSET, { message: DATE_TIME_MESSAGE })
  from?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-12-31T23:59:59.999Z',
    description: 'Events at or before this instant',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: DATE_TIME_MESSAGE })
  @Matches(DATE_TIME_WITH_OFFSET, { message: DATE_TIME_MESSAGE })
  to?: string;
}
