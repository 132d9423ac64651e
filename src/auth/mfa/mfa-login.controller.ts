import { Body, Controller, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimit } from '../../abuse/rate-limit.decorator';
import { AllowMfaEnrolment } from '../../access/allow-mfa-enrolment.decorator';
import { AllowUnverifiedEmail } from '../../access/allow-unverified-email.decorator';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { Authenticated } from '../../access/authenticated.decorator';
import { CurrentUser } from '../../access/current-user.decorator';
import { Public } from '../../access/public.decorator';
import { isFormEncoded } from '../../common/http/media-types';
import { ProblemDto } from '../../common/http/problem.dto';
import { CurrentRequest, RequestContext, requestContextOf } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { answerOf, SecondFactorAnswerDto, VerifyMfaDto } from '../dto/second-factor.dto';
import { TokenPairDto } from '../dto/token-pair.dto';
import { deliverTokens } from '../refresh-cookie';
import { SecondFactorSignIn } from './second-factor-sign-in.service';

const DISABLED = 'MFA_ENABLED=false';

/** The second step of a login and step-up in a session (SPEC §9). */
@ApiTags('auth')
@Controller('auth/mfa')
export class MfaLoginController {
  constructor(
    private readonly secondFactor: SecondFactorSignIn,
    private readonly config: AppConfig,
  ) {}

  @Post('verify')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Second step of a login: the mfa_token and a TOTP code, a recovery code or a passkey',
    description:
      'Send `mfa_token` and exactly one of `code` (authenticator app), `recovery_code`, or ' +
      '`passkey` (the assertion for the options of POST /auth/mfa/passkey-options). ' +
      'Answers the token pair as POST /auth/login does (refresh cookie in cookie mode, for a ' +
      'JSON request). Rate limited per address and per account; every wrong code counts toward ' +
      'the account lockout and one mfa_token takes MFA_TOKEN_MAX_ATTEMPTS of them. The ' +
      "access token's `amr`: `pwd`, `otp`, `mfa` (TOTP), `pwd`, `recovery_code`, `mfa`, or " +
      '`pwd`, `hwk` (device-bound passkey) or `swk` (synced passkey), `mfa`.',
  })
  @ApiBody({
    type: VerifyMfaDto,
    examples: {
      totp: {
        summary: 'A code of the authenticator app',
        value: { mfa_token: 'q1yS3m1yOZ3Kx8n8rC1n3o7bY0H5bqGmR0c2v6tW9sE', code: '492039' },
      },
      recoveryCode: {
        summary: 'A recovery code',
        value: {
          mfa_token: 'q1yS3m1yOZ3Kx8n8rC1n3o7bY0H5bqGmR0c2v6tW9sE',
          recovery_code: '7k2m-9xqp-4hst-b8vn',
        },
      },
    },
  })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({
    description: 'Malformed body, or not exactly one of code, recovery_code, passkey',
    type: ProblemDto,
  })
  @ApiUnauthorizedResponse({
    description:
      '`invalid_mfa_token`: unknown, expired, used, or dead after too many wrong codes (one ' +
      'answer for every cause); `invalid_mfa_code`: wrong or already used code, or a passkey ' +
      'assertion that does not verify; ' +
      '`invalid_credentials`: the account is locked (the answer a login gets)',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async verify(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: VerifyMfaDto,
  ): Promise<TokenPairDto> {
    this.secondFactor.assertEnabled();
    const pair = await this.secondFactor.verify(
      body.mfa_token,
      answerOf(body),
      requestContextOf(request),
    );
    // As POST /auth/login: a form post plants no cookie (login CSRF).
    if (isFormEncoded(request)) return pair;
    return deliverTokens(this.config, reply, pair);
  }

  @Post('step-up')
  @Authenticated()
  @AllowUnverifiedEmail()
  @AllowMfaEnrolment()
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prove a second factor again in this session (step-up)',
    description:
      'Exactly one of `code`, `recovery_code` or `passkey` (the assertion for the options of ' +
      'POST /auth/mfa/step-up/passkey-options). Answers a new token pair for the same ' +
      'session whose access token has `mfa_time` now and the factor in `amr`: what ' +
      '`@RequireMfa()` routes (401 `mfa_step_up_required`) and re-authentication want. The ' +
      "session's earlier refresh token stops working. Wrong codes count toward the lockout.",
  })
  @ApiBody({
    type: SecondFactorAnswerDto,
    examples: {
      totp: { summary: 'A code of the authenticator app', value: { code: '492039' } },
      recoveryCode: { summary: 'A recovery code', value: { recovery_code: '7k2m-9xqp-4hst-b8vn' } },
    },
  })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({
    description: 'Malformed body, or not exactly one of code, recovery_code, passkey',
    type: ProblemDto,
  })
  @ApiUnauthorizedResponse({
    description:
      'Missing, invalid or expired access token; or `invalid_mfa_code`: wrong or already used ' +
      'code, a passkey assertion that does not verify (also while the account is locked)',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async stepUp(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: SecondFactorAnswerDto,
    @CurrentRequest() context: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenPairDto> {
    this.secondFactor.assertEnabled();
    const pair = await this.secondFactor.stepUp(user, answerOf(body), context);
    return deliverTokens(this.config, reply, pair);
  }
}
