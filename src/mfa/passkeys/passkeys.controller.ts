import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
} from '@nestjs/common';
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
import { RateLimit } from '../../abuse/rate-limit.decorator';
import { ReauthenticationDto } from '../dto/mfa.dto';
import { AllowMfaEnrolment } from '../../access/allow-mfa-enrolment.decorator';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { Authenticated } from '../../access/authenticated.decorator';
import { CurrentUser } from '../../access/current-user.decorator';
import { ProblemDto } from '../../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../../common/request-context';
import {
  PasskeyResponseDto,
  RegisterPasskeyDto,
  RenamePasskeyDto,
  toPasskeyResponse,
} from './dto/passkey.dto';
import { RegistrationOptionsDto } from './dto/passkey-options.dto';
import { Passkeys } from './passkeys';

const UUID = new ParseUUIDPipe({ version: undefined });
const DISABLED = '`feature_disabled`: MFA_ENABLED=false';
const NOT_FOUND = '`passkey_not_found`: none of your passkeys has this id';
const REAUTH =
  'Wrong current password (`invalid_credentials`, counts as a failed login), or ' +
  '`reauthentication_required`: no password and no second factor within MFA_STEP_UP_MAX_AGE; ' +
  'or no valid access token';

@ApiTags('users')
@Controller('users/me/passkeys')
export class PasskeysController {
  constructor(private readonly passkeys: Passkeys) {}

  @Post('registration-options')
  // Each call stores a challenge (and may check a password): bounded per address.
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Authenticated()
  @AllowMfaEnrolment()
  @ApiOperation({
    summary: 'Start adding a passkey: options for navigator.credentials.create()',
    description:
      'Needs re-authentication: your current password, or a second factor proven within ' +
      'MFA_STEP_UP_MAX_AGE. A discoverable credential (it can sign in without a username) with ' +
      'user verification; your registered passkeys are excluded. The challenge works once, for ' +
      'MFA_TOKEN_TTL seconds: send the result to POST /users/me/passkeys.',
  })
  @ApiOkResponse({ type: RegistrationOptionsDto })
  @ApiBadRequestResponse({ description: 'Unknown field', type: ProblemDto })
  @ApiUnauthorizedResponse({ description: REAUTH, type: ProblemDto })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async registrationOptions(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: ReauthenticationDto,
  ): Promise<RegistrationOptionsDto> {
    return this.passkeys.registrationOptions(user, body.currentPassword, context);
  }

  @Post()
  @Authenticated()
  @AllowMfaEnrolment()
  // The attestation check costs a signature verification: bounded per address.
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: 'Add a passkey: the registration response of the browser',
    description:
      'Verified against the challenge of your last registration options (spent, whatever the ' +
      'outcome), the origins WEBAUTHN_ORIGINS and the RP id WEBAUTHN_RP_ID; user verification ' +
      'is required. Audited as mfa.passkey_added.',
  })
  @ApiCreatedResponse({ type: PasskeyResponseDto })
  @ApiBadRequestResponse({
    description:
      '`passkey_rejected`: the response does not verify (wrong or used challenge, origin, RP id, ' +
      'no user verification, malformed); or an invalid field',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  @ApiConflictResponse({ description: 'The passkey is already registered', type: ProblemDto })
  async register(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: RegisterPasskeyDto,
  ): Promise<PasskeyResponseDto> {
    return toPasskeyResponse(await this.passkeys.register(user, body.response, body.name, context));
  }

  @Get()
  @Authenticated()
  @AllowMfaEnrolment()
  @ApiOperation({ summary: 'Your passkeys, oldest first' })
  @ApiOkResponse({ type: [PasskeyResponseDto] })
  @ApiNotFoundResponse({ description: DISABLED, type: ProblemDto })
  async list(@CurrentUser() user: AuthenticatedUser): Promise<PasskeyResponseDto[]> {
    return (await this.passkeys.list(user.id)).map(toPasskeyResponse);
  }

  @Patch(':id')
  @Authenticated()
  @ApiOperation({ summary: 'Rename one of your passkeys (audited as mfa.passkey_renamed)' })
  @ApiOkResponse({ type: PasskeyResponseDto })
  @ApiBadRequestResponse({
    description: 'The name is missing, empty or too long',
    type: ProblemDto,
  })
  @ApiNotFoundResponse({ description: `${NOT_FOUND}; or ${DISABLED}`, type: ProblemDto })
  async rename(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
    @Body() body: RenamePasskeyDto,
  ): Promise<PasskeyResponseDto> {
    return toPasskeyResponse(await this.passkeys.rename(user, id, body.name, context));
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated()
  @AllowMfaEnrolment()
  @ApiOperation({
    summary: 'Remove one of your passkeys',
    description:
      'Needs re-authentication (current password, or a second factor within ' +
      'MFA_STEP_UP_MAX_AGE). The passkey stops signing in at once. Audited as mfa.passkey_removed.',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiBadRequestResponse({ description: 'Unknown field', type: ProblemDto })
  @ApiUnauthorizedResponse({ description: REAUTH, type: ProblemDto })
  @ApiNotFoundResponse({ description: `${NOT_FOUND}; or ${DISABLED}`, type: ProblemDto })
  async remove(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
    @Body() body: ReauthenticationDto,
  ): Promise<void> {
    await this.passkeys.remove(user, id, body.currentPassword, context);
  }
}
