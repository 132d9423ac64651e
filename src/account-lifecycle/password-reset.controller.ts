import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RateLimit } from '../abuse/rate-limit.decorator';
import { Public } from '../access/public.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { AcceptedDto } from './dto/accepted.dto';
import { ForgotPasswordDto } from './dto/forgot-password.dto';
import { ResetPasswordDto } from './dto/reset-password.dto';
import { PasswordResetService } from './password-reset.service';

const DISABLED = 'PASSWORD_RESET_ENABLED=false: the feature is turned off';

/** The one answer of "forgot password", whether or not an account has the address. */
export const FORGOT_PASSWORD_ANSWER: AcceptedDto = Object.freeze({
  message: 'If an account has this address, a link to reset its password is on its way to it',
});

@ApiTags('auth')
@Controller('auth/password')
export class PasswordResetController {
  constructor(private readonly reset: PasswordResetService) {}

  @Post('forgot')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(202)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Ask for a password reset link by mail',
    description:
      'Answers the same (status, headers, body, and about the same time) whether or not an ' +
      'account has the address, so it cannot tell who has an account. An active account gets a ' +
      'mail with a link valid for PASSWORD_RESET_TTL; a newer one replaces it. Rate limited per ' +
      'client address and per address asked for.',
  })
  @ApiAcceptedResponse({ type: AcceptedDto, description: 'Queued, if there is an account' })
  @ApiBadRequestResponse({ description: 'Not an email address', type: ProblemDto })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async forgot(
    @Body() body: ForgotPasswordDto,
    @CurrentRequest() context: RequestContext,
  ): Promise<AcceptedDto> {
    await this.reset.forgot(body.email, context);
    return FORGOT_PASSWORD_ANSWER;
  }

  @Post('reset')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(204)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Set a new password with the token of the mailed link',
    description:
      'The password policy applies (a refused password leaves the token usable). Then every ' +
      'session of the account ends, access tokens issued before stop working, a lockout is ' +
      'cleared and a "password changed" notice is mailed. Log in again with the new password.',
  })
  @ApiNoContentResponse({ description: 'Password set; every session ended' })
  @ApiBadRequestResponse({
    description:
      'Malformed body, `invalid_account_token` (unknown, used, expired or replaced), or ' +
      '`weak_password`',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async resetPassword(
    @Body() body: ResetPasswordDto,
    @CurrentRequest() context: RequestContext,
  ): Promise<void> {
    await this.reset.reset(body.token, body.newPassword, context);
  }
}
