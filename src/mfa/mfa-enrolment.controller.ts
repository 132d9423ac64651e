import { Body, Controller, Delete, Get, Header, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RateLimit } from '../abuse/rate-limit.decorator';
import { AllowMfaEnrolment } from '../access/allow-mfa-enrolment.decorator';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { Authenticated } from '../access/authenticated.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../common/request-context';
import {
  ConfirmTotpDto,
  MfaStatusDto,
  ReauthenticationDto,
  RecoveryCodesDto,
  TotpEnrolmentDto,
  toMfaStatus,
} from './dto/mfa.dto';
import { MfaEnrolmentService } from './mfa-enrolment.service';

const OFF = 'MFA_ENABLED=false: second factors are not offered';
const REAUTH =
  '`reauthentication_required`: no `currentPassword` and no second factor proven in this ' +
  'session within MFA_STEP_UP_MAX_AGE; `invalid_credentials`: wrong current password (counts ' +
  'as a failed login); or no valid access token';

/** The signed-in user's own second factors (SPEC §9). */
@ApiTags('users')
@Controller('users/me/mfa')
export class MfaEnrolmentController {
  constructor(private readonly enrolment: MfaEnrolmentService) {}

  @Get()
  @Authenticated()
  @AllowMfaEnrolment()
  @ApiOperation({
    summary: 'Your second factors: which are enrolled, and how many recovery codes are left',
  })
  @ApiOkResponse({ type: MfaStatusDto })
  @ApiNotFoundResponse({ description: OFF, type: ProblemDto })
  async status(@CurrentUser() current: AuthenticatedUser): Promise<MfaStatusDto> {
    return toMfaStatus(await this.enrolment.status(current.id));
  }

  @Post('totp')
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  @Authenticated()
  @AllowMfaEnrolment()
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: 'Start enrolling an authenticator app (TOTP)',
    description:
      'Needs re-authentication. Answers the new shared secret, its otpauth:// URI and a QR code ' +
      'to scan; nothing changes at sign-in until POST /users/me/mfa/totp/confirm proves the ' +
      'app shows the right codes. Starting again replaces a pending enrolment. Secrets are ' +
      'stored encrypted (AES-256-GCM under MFA_ENCRYPTION_KEY).',
  })
  @ApiCreatedResponse({ description: 'The pending enrolment', type: TotpEnrolmentDto })
  @ApiBadRequestResponse({
    description: 'An unknown field, or a malformed password',
    type: ProblemDto,
  })
  @ApiUnauthorizedResponse({ description: REAUTH, type: ProblemDto })
  @ApiNotFoundResponse({ description: OFF, type: ProblemDto })
  @ApiConflictResponse({
    description: '`mfa_already_enrolled`: TOTP is active; remove it first',
    type: ProblemDto,
  })
  startTotp(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: ReauthenticationDto,
  ): Promise<TotpEnrolmentDto> {
    return this.enrolment.startTotp(current, body.currentPassword, context);
  }

  @Post('totp/confirm')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Authenticated()
  @AllowMfaEnrolment()
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: 'Activate the authenticator with a code it shows; get your recovery codes',
    description:
      'The code proves the app was set up. TOTP is then required at sign-in, and the answer ' +
      'holds 10 single-use recovery codes: they are shown only here (stored hashed). A notice ' +
      'is mailed to the account. A wrong code leaves the enrolment pending.',
  })
  @ApiOkResponse({ type: RecoveryCodesDto })
  @ApiBadRequestResponse({ description: '`code` is missing or not a string', type: ProblemDto })
  @ApiUnauthorizedResponse({
    description: '`invalid_mfa_code`: wrong or expired code; or no valid access token',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({
    description: '`mfa_not_enrolled`: no enrolment was started; or ' + OFF,
    type: ProblemDto,
  })
  @ApiConflictResponse({
    description: '`mfa_already_enrolled`: TOTP is active already',
    type: ProblemDto,
  })
  async confirmTotp(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: ConfirmTotpDto,
  ): Promise<RecoveryCodesDto> {
    return { recoveryCodes: await this.enrolment.confirmTotp(current, body.code, context) };
  }

  @Delete('totp')
  @HttpCode(204)
  @Authenticated()
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: 'Remove your authenticator app (TOTP)',
    description:
      'Needs re-authentication. Removes an active or a pending authenticator; a notice is ' +
      'mailed for an active one. With no second factor left, the recovery codes are deleted too.',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiBadRequestResponse({
    description: 'An unknown field, or a malformed password',
    type: ProblemDto,
  })
  @ApiUnauthorizedResponse({ description: REAUTH, type: ProblemDto })
  @ApiNotFoundResponse({
    description: '`mfa_not_enrolled`: no authenticator is enrolled; or ' + OFF,
    type: ProblemDto,
  })
  async removeTotp(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: ReauthenticationDto,
  ): Promise<void> {
    await this.enrolment.removeTotp(current, body.currentPassword, context);
  }

  @Post('recovery-codes')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Authenticated()
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: 'Replace your recovery codes with a new set',
    description:
      'Needs re-authentication. The 10 new codes are shown only in this answer; every earlier ' +
      'code stops working.',
  })
  @ApiOkResponse({ type: RecoveryCodesDto })
  @ApiBadRequestResponse({
    description: 'An unknown field, or a malformed password',
    type: ProblemDto,
  })
  @ApiUnauthorizedResponse({ description: REAUTH, type: ProblemDto })
  @ApiNotFoundResponse({
    description: '`mfa_not_enrolled`: no second factor, so nothing to recover; or ' + OFF,
    type: ProblemDto,
  })
  async regenerateRecoveryCodes(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: ReauthenticationDto,
  ): Promise<RecoveryCodesDto> {
    return {
      recoveryCodes: await this.enrolment.regenerateRecoveryCodes(
        current,
        body.currentPassword,
        context,
      ),
    };
  }
}
