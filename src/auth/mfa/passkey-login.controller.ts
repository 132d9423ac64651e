import { Body, Controller, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimit } from '../../abuse/rate-limit.decorator';
import { Public } from '../../access/public.decorator';
import { AuthService } from '../auth.service';
import { TokenPairDto } from '../dto/token-pair.dto';
import { deliverTokens } from '../refresh-cookie';
import { ProblemDto } from '../../common/http/problem.dto';
import { requestContextOf } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { PasskeyAssertionDto } from '../../mfa/passkeys/dto/passkey.dto';
import { PasskeyAuthentication } from '../../mfa/passkeys/passkey-authentication';

/**
 * Usernameless sign-in with a passkey: PasskeyAuthentication (src/mfa/passkeys) checks the
 * assertion; the session starts here, with the passkey as its proof.
 */
@ApiTags('auth')
@Controller('auth')
export class PasskeyLoginController {
  constructor(
    private readonly passkeys: PasskeyAuthentication,
    private readonly auth: AuthService,
    private readonly config: AppConfig,
  ) {}

  @Post('passkey/login')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Sign in with a passkey (usernameless); starts a session',
    description:
      'The assertion of navigator.credentials.get() for the options of POST /auth/passkey/options ' +
      '(each works once). The access token says `amr` [hwk or swk, mfa] and counts as a second ' +
      'factor proven now. In cookie mode the refresh token goes to the cookie, as for ' +
      'POST /auth/login.',
  })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({ description: 'The body has no `response` object', type: ProblemDto })
  @ApiUnauthorizedResponse({
    description:
      'Unknown passkey, used or expired challenge, bad signature, no user verification, a ' +
      'counter that did not move forward, or an inactive account: one answer for every cause',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: '`feature_disabled`: MFA_ENABLED=false', type: ProblemDto })
  async login(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: PasskeyAssertionDto,
  ): Promise<TokenPairDto> {
    const context = requestContextOf(request);
    const { account, proof } = await this.passkeys.signIn(body.response, context);
    return deliverTokens(this.config, reply, await this.auth.login(account, context, proof));
  }
}
