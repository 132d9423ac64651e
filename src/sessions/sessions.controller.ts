import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { ProblemDto } from '../common/http/problem.dto';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { Authenticated } from '../access/authenticated.decorator';
import { AllowUnverifiedEmail } from '../access/allow-unverified-email.decorator';
import { AllowMfaEnrolment } from '../access/allow-mfa-enrolment.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { SessionDto, toSessionDto } from './dto/session.dto';
import { SessionsService } from './sessions.service';

@ApiTags('auth')
@Controller('auth/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @Authenticated()
  @AllowUnverifiedEmail()
  @AllowMfaEnrolment()
  @ApiOperation({ summary: "The current user's live sessions, most recently used first" })
  @ApiOkResponse({ type: [SessionDto] })
  async list(@CurrentUser() user: AuthenticatedUser): Promise<SessionDto[]> {
    const sessions = await this.sessions.listLive(user.id);
    return sessions.map((session) => toSessionDto(session, user.sessionId));
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated()
  @AllowUnverifiedEmail()
  @AllowMfaEnrolment()
  @ApiOperation({ summary: 'Revoke one of your own sessions' })
  @ApiNoContentResponse({ description: 'Session revoked' })
  @ApiNotFoundResponse({
    description: 'No live session with this id belongs to you',
    type: ProblemDto,
  })
  async revoke(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @CurrentRequest() context: RequestContext,
  ): Promise<void> {
    await this.sessions.revokeOwn(user.id, id, context);
  }
}
