import { Controller, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RateLimit } from '../abuse/rate-limit.decorator';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { CurrentUser } from '../access/current-user.decorator';
import { RoleName } from '../access/role-name';
import { Roles } from '../access/roles.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { AcceptedDto } from './dto/accepted.dto';
import { PasswordResetService } from './password-reset.service';

/** An administrator sends a user the reset mail (SPEC §8); beside the user routes in Swagger. */
@ApiTags('users')
@Controller('users')
export class AdminPasswordResetController {
  constructor(private readonly resets: PasswordResetService) {}

  @Post(':id/password-reset')
  @HttpCode(202)
  @Roles(RoleName.Admin)
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: 'Mail a user a password reset link',
    description:
      'The user gets the same mail as after "forgot password" (valid PASSWORD_RESET_TTL ' +
      'seconds, replacing any older link). The password stays as it is until the link is used. ' +
      'Audited as user.password_reset_requested with the administrator as actor.',
  })
  @ApiAcceptedResponse({ description: 'The reset mail is queued', type: AcceptedDto })
  @ApiNotFoundResponse({
    description: 'No such user, or PASSWORD_RESET_ENABLED=false',
    type: ProblemDto,
  })
  @ApiConflictResponse({ description: 'The account is deactivated', type: ProblemDto })
  async send(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
  ): Promise<AcceptedDto> {
    await this.resets.sendFor(current.id, id, context);
    return { message: 'A link to reset the password is on its way to the user' };
  }
}
