import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RateLimit } from '../abuse/rate-limit.decorator';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { AllowUnverifiedEmail } from '../access/allow-unverified-email.decorator';
import { Authenticated } from '../access/authenticated.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { Public } from '../access/public.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { AcceptedDto } from './dto/accepted.dto';
import { ConfirmEmailChangeDto, RequestEmailChangeDto } from './dto/email-change.dto';
import { EmailChangeService } from './email-change.service';

const OFF =
  'No mail flow is on (EMAIL_VERIFICATION=off and PASSWORD_RESET_ENABLED=false): use PATCH /users/me';

@Controller()
export class EmailChangeController {
  constructor(private readonly emailChange: EmailChangeService) {}

  @Post('users/me/email')
  @HttpCode(202)
  @Authenticated()
  // A mistyped address is fixed here: the confirmation verifies the new one.
  @AllowUnverifiedEmail()
  @RateLimit({ perAccount: false })
  @ApiTags('users')
  @ApiOperation({
    summary: 'Change your email: mails the new address a link that applies the change',
    description:
      'Needs your current password. The new address gets a confirmation link (valid ' +
      'EMAIL_CHANGE_TTL seconds, default 1 hour); the old one a notice. Nothing changes until the ' +
      'link is used (POST /auth/email/change/confirm). A newer request replaces the older link.',
  })
  @ApiAcceptedResponse({ description: 'The confirmation mail is queued', type: AcceptedDto })
  @ApiBadRequestResponse({ description: 'Invalid email or missing password', type: ProblemDto })
  @ApiUnauthorizedResponse({
    description: 'Wrong current password (counts as a failed login), or no valid access token',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: OFF, type: ProblemDto })
  @ApiConflictResponse({
    description: 'The address is already this account’s, or another account’s',
    type: ProblemDto,
  })
  async request(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: RequestEmailChangeDto,
  ): Promise<AcceptedDto> {
    await this.emailChange.request(current, body, context);
    return { message: 'A link to confirm the new address is on its way to it' };
  }

  @Post('auth/email/change/confirm')
  @HttpCode(204)
  @Public()
  @RateLimit({ perAccount: false })
  @ApiTags('auth')
  @ApiOperation({
    summary: 'Apply an email change with the code of its confirmation mail',
    description:
      'The link works once. The account then has the new address, verified; links mailed ' +
      'earlier to the old address (verification, password reset) stop working.',
  })
  @ApiNoContentResponse({ description: 'The email is changed' })
  @ApiBadRequestResponse({
    description: '`invalid_account_token`: the code is unknown, used, expired or replaced',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: OFF, type: ProblemDto })
  @ApiConflictResponse({
    description: 'Another account took the address meanwhile (the link stays usable)',
    type: ProblemDto,
  })
  async confirm(
    @CurrentRequest() context: RequestContext,
    @Body() body: ConfirmEmailChangeDto,
  ): Promise<void> {
    await this.emailChange.confirm(body.token, context);
  }
}
