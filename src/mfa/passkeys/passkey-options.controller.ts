import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RateLimit } from '../../abuse/rate-limit.decorator';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { Authenticated } from '../../access/authenticated.decorator';
import { CurrentUser } from '../../access/current-user.decorator';
import { Public } from '../../access/public.decorator';
import { ProblemDto } from '../../common/http/problem.dto';
import { PasskeyMfaOptionsDto } from './dto/passkey.dto';
import { AuthenticationOptionsDto } from './dto/passkey-options.dto';
import { PasskeyAuthentication } from './passkey-authentication';

const DISABLED = '`feature_disabled`: MFA_ENABLED=false';

/** The challenges of passkey assertions: sign-in, second factor, step-up. */
@ApiTags('auth')
@Controller('auth')
export class PasskeyOptionsController {
  constructor(private readonly passkeys: PasskeyAuthentication) {}

  @Post('passkey/options')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Start a usernameless sign-in: options for navigator.credentials.get()',
    description:
      'No allowCredentials: the authenticator offers the passkeys it holds for this site. User ' +
      'verification is required. The challenge works once, for MFA_TOKEN_TTL seconds: send the ' +
      'result to POST /auth/passkey/login.',
  })
  @ApiOkResponse({ type: AuthenticationOptionsDto })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  signInOptions(): Promise<AuthenticationOptionsDto> {
    return this.passkeys.signInOptions();
  }

  @Post('mfa/passkey-options')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'A passkey as the second factor of a login: options for navigator.credentials.get()',
    description:
      'For the `mfa_token` of a password login that answered `mfa_required` with the method ' +
      '`passkey`: the account’s passkeys in allowCredentials. The challenge is bound to that ' +
      'login (a newer one replaces it); answer with POST /auth/mfa/verify ' +
      '`{mfa_token, passkey}`.',
  })
  @ApiOkResponse({ type: AuthenticationOptionsDto })
  @ApiBadRequestResponse({ description: 'mfa_token missing or malformed', type: ProblemDto })
  @ApiUnauthorizedResponse({
    description: '`invalid_mfa_token`: unknown, used, expired or out of attempts',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({
    description: `\`mfa_not_enrolled\`: the account has no passkey; or ${DISABLED}`,
    type: ProblemDto,
  })
  secondFactorOptions(@Body() body: PasskeyMfaOptionsDto): Promise<AuthenticationOptionsDto> {
    return this.passkeys.secondFactorOptions(body.mfa_token);
  }

  @Post('mfa/step-up/passkey-options')
  // Each call stores a challenge: bounded per address like the other ceremonies.
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Authenticated()
  @ApiOperation({
    summary: 'Step up with a passkey: options for navigator.credentials.get()',
    description:
      'Your passkeys in allowCredentials; the challenge works once, for MFA_TOKEN_TTL seconds, ' +
      'for you only. Answer with the step-up route (POST /auth/mfa/step-up).',
  })
  @ApiOkResponse({ type: AuthenticationOptionsDto })
  @ApiNotFoundResponse({
    description: `\`mfa_not_enrolled\`: you have no passkey; or ${DISABLED}`,
    type: ProblemDto,
  })
  stepUpOptions(@CurrentUser() user: AuthenticatedUser): Promise<AuthenticationOptionsDto> {
    return this.passkeys.stepUpOptions(user.id);
  }
}
