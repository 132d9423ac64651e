import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RateLimit } from '../abuse/rate-limit.decorator';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { AllowUnverifiedEmail } from '../access/allow-unverified-email.decorator';
import { Authenticated } from '../access/authenticated.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { Public } from '../access/public.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import { AcceptedDto } from './dto/accepted.dto';
import { VerifyEmailDto } from './dto/verify-email.dto';
import { EmailVerificationService } from './email-verification.service';

const DISABLED = 'EMAIL_VERIFICATION=off: the feature is turned off';

@ApiTags('auth')
@Controller('auth/email')
export class EmailVerificationController {
  constructor(private readonly verification: EmailVerificationService) {}

  @Post('verify')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Verify your email address with the token of the mailed link',
    description:
      'The token works once, until it expires (EMAIL_VERIFICATION_TTL), and only while the ' +
      'account still has the address it was mailed to; a newer mail replaces it. Answers the ' +
      'account, now `emailVerified: true`. With EMAIL_VERIFICATION=required the account can use ' +
      'every route from its next request on, with the access token it already has.',
  })
  @ApiOkResponse({ type: UserResponseDto, description: 'Verified; the account' })
  @ApiBadRequestResponse({
    description: 'Malformed token, or `invalid_account_token`: unknown, used, expired or replaced',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async verify(
    @Body() body: VerifyEmailDto,
    @CurrentRequest() context: RequestContext,
  ): Promise<UserResponseDto> {
    return toUserResponse(await this.verification.verify(body.token, context));
  }

  @Post('verify/resend')
  @Authenticated()
  @AllowUnverifiedEmail()
  @RateLimit({ perAccount: false })
  @HttpCode(202)
  @ApiOperation({
    summary: 'Mail a new verification link to your address',
    description:
      'The new link replaces every earlier one. Rate limited per client address and per account.',
  })
  @ApiAcceptedResponse({ type: AcceptedDto, description: 'The mail is queued' })
  @ApiConflictResponse({ description: 'The address is already verified', type: ProblemDto })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async resend(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
  ): Promise<AcceptedDto> {
    await this.verification.resend(user, context);
    return { message: 'A new verification link is on its way to your address' };
  }
}
