import { RateLimit } from '../abuse/rate-limit.decorator';
import { Body, Controller, Header, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { ProblemDto } from '../common/http/problem.dto';
import { AppConfig } from '../config/app-config';
import { AuthService } from './auth.service';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { Authenticated } from '../access/authenticated.decorator';
import { AllowUnverifiedEmail } from '../access/allow-unverified-email.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { ChangePasswordDto } from './dto/change-password.dto';
import { TokenPairDto } from './dto/token-pair.dto';
import { deliverTokens } from './refresh-cookie';

@ApiTags('users')
@Controller('users/me')
export class PasswordController {
  constructor(
    private readonly auth: AuthService,
    private readonly config: AppConfig,
  ) {}

  @Post('password')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Authenticated()
  @AllowUnverifiedEmail()
  // It mails the owner a notice: bounded like every route that sends mail (SPEC §8).
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: 'Change your password',
    description:
      'Revokes every other session. This session lives on with the fresh token pair in the ' +
      'response; access tokens issued before the change stop working. A wrong current password is 401.',
  })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({ description: 'New password refused by the policy', type: ProblemDto })
  async change(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: ChangePasswordDto,
    @CurrentRequest() context: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenPairDto> {
    const pair = await this.auth.changePassword(user, body, context);
    return deliverTokens(this.config, reply, pair);
  }
}
