import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../access/roles.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { RoleName } from '../access/role-name';
import { AuditService } from './audit.service';
import { AuditEventPageDto, toAuditEventDto } from './dto/audit-event.dto';
import { ListAuditEventsQueryDto } from './dto/list-audit-events-query.dto';

@ApiTags('audit')
@Controller('audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Roles(RoleName.Admin)
  @ApiOperation({
    summary: 'The audit log, newest first',
    description:
      'Filters combine with AND; `userId` matches events where the user is the actor or the ' +
      'subject; `from` and `to` are inclusive.',
  })
  @ApiOkResponse({ type: AuditEventPageDto })
  @ApiBadRequestResponse({ description: 'Invalid query parameter', type: ProblemDto })
  async list(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    const { items, total } = await this.audit.list({
      page: query.page,
      limit: query.limit,
      type: query.type,
      userId: query.userId,
      from: query.from === undefined ? undefined : new Date(query.from),
      to: query.to === undefined ? undefined : new Date(query.to),
    });
    return { items: items.map(toAuditEventDto), total, page: query.page, limit: query.limit };
  }
}
