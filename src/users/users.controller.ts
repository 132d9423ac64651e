import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { LockoutService } from './lockout.service';
import { PasswordCheck } from './password-check.service';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { AllowMfaEnrolment } from '../access/allow-mfa-enrolment.decorator';
import { AllowUnverifiedEmail } from '../access/allow-unverified-email.decorator';
import { Authenticated } from '../access/authenticated.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { Roles } from '../access/roles.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { ListUsersQueryDto, UserListDto } from './dto/list-users.dto';
import { AdminUpdateUserDto, UpdateProfileDto } from './dto/update-user.dto';
import { SelfResponseDto, toUserResponse, UserResponseDto } from './dto/user-response.dto';
import { RoleName } from '../access/role-name';
import { UserManagementService } from './user-management.service';

const UUID = new ParseUUIDPipe({ version: undefined });

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly management: UserManagementService,
    private readonly lockout: LockoutService,
    private readonly passwords: PasswordCheck,
    private readonly config: AppConfig,
  ) {}

  @Get('me')
  @Authenticated()
  // An unverified account (EMAIL_VERIFICATION=required) must see which address it has to verify.
  @AllowUnverifiedEmail()
  // A user who must enrol a second factor first sees who they are (MFA_REQUIRED_FOR_ROLES).
  @AllowMfaEnrolment()
  @ApiOperation({ summary: 'The current user, with role names and enrolled second factors' })
  @ApiOkResponse({ type: SelfResponseDto })
  me(@CurrentUser() current: AuthenticatedUser): SelfResponseDto {
    // The account and its second factors were loaded by the JWT guard for this very request
    // (from the auth-state cache while it holds them); none are shown while MFA is off.
    const mfaMethods = this.config.mfa.enabled ? [...current.secondFactors] : [];
    return { ...toUserResponse(current.account), mfaMethods };
  }

  @Patch('me')
  @Authenticated()
  @ApiOperation({
    summary: 'Change your own username or email (roles and activation are not yours to change)',
    description:
      'Changing `email` needs `currentPassword` (re-authentication: the email can recover the ' +
      'account, so a stolen access token alone must not move it). While a mail flow is on ' +
      '(EMAIL_VERIFICATION or PASSWORD_RESET_ENABLED) a new email is refused here (400 ' +
      '`email_change_needs_confirmation`): POST /users/me/email mails the new address, which ' +
      'must confirm it.',
  })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({
    description:
      'Invalid value, a field that may not be changed here, `email` without `currentPassword`, ' +
      'or a new `email` while mail flows are on (use POST /users/me/email)',
    type: ProblemDto,
  })
  @ApiUnauthorizedResponse({
    description: 'Wrong current password (counts as a failed login), or no valid access token',
    type: ProblemDto,
  })
  @ApiConflictResponse({ description: 'Username or email already taken', type: ProblemDto })
  async updateMe(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: UpdateProfileDto,
  ): Promise<UserResponseDto> {
    if (
      body.email !== undefined &&
      body.email !== current.account.user.email &&
      this.config.accountLifecycle.mailFlows
    ) {
      // The new address must prove it is the user's (POST /users/me/email, SPEC §8).
      throw new DomainError(
        'email_change_needs_confirmation',
        'Change the email with POST /users/me/email: the new address must confirm it',
      );
    }
    if (body.email !== undefined) {
      // The DTO requires currentPassword with email.
      await this.passwords.reauthenticate(current, body.currentPassword ?? '', context);
    }
    const changes = { username: body.username, email: body.email };
    return toUserResponse(await this.management.update(current.id, current.id, changes, context));
  }

  @Get()
  @Roles(RoleName.Moderator)
  @ApiOperation({ summary: 'List users (paginated, filtered, sorted)' })
  @ApiOkResponse({ type: UserListDto })
  @ApiBadRequestResponse({
    description: 'Invalid page, limit (1..100), sort or filter',
    type: ProblemDto,
  })
  async list(@Query() query: ListUsersQueryDto): Promise<UserListDto> {
    const page = await this.management.list(query);
    return { ...page, items: page.items.map(toUserResponse) };
  }

  @Get(':id')
  @Roles(RoleName.Moderator)
  @ApiOperation({ summary: 'One user' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ description: 'The id is not a UUID', type: ProblemDto })
  @ApiNotFoundResponse({ description: 'No such user', type: ProblemDto })
  async get(@Param('id', UUID) id: string): Promise<UserResponseDto> {
    return toUserResponse(await this.management.get(id));
  }

  @Patch(':id')
  @Roles(RoleName.Admin)
  @ApiOperation({
    summary: 'Change a user: username, email, isActive',
    description:
      'Deactivation ends every session of the user at once. The last active admin cannot be deactivated.',
  })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ description: 'Invalid value or unknown field', type: ProblemDto })
  @ApiNotFoundResponse({ description: 'No such user', type: ProblemDto })
  @ApiConflictResponse({ description: 'Name taken, or the last active admin', type: ProblemDto })
  async update(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
    @Body() body: AdminUpdateUserDto,
  ): Promise<UserResponseDto> {
    return toUserResponse(await this.management.update(current.id, id, body, context));
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles(RoleName.Admin)
  @ApiOperation({ summary: 'Delete a user; their roles and sessions go with them' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'No such user', type: ProblemDto })
  @ApiConflictResponse({ description: 'The last active admin', type: ProblemDto })
  async remove(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
  ): Promise<void> {
    await this.management.remove(current.id, id, context);
  }

  @Post(':id/unlock')
  @HttpCode(204)
  @Roles(RoleName.Admin)
  @ApiOperation({ summary: 'Lift an account lockout and clear its failed-login count' })
  @ApiNoContentResponse({ description: 'Unlocked (also when it was not locked)' })
  @ApiNotFoundResponse({ description: 'No such user', type: ProblemDto })
  async unlock(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
  ): Promise<void> {
    await this.lockout.unlock(current.id, id, context);
  }

  @Put(':id/roles/:role')
  @Roles(RoleName.Admin)
  @ApiOperation({ summary: 'Grant a role (idempotent)' })
  @ApiParam({ name: 'role', enum: RoleName })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse({ description: 'No such user or role', type: ProblemDto })
  async grantRole(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
    @Param('role') role: string,
  ): Promise<UserResponseDto> {
    return toUserResponse(await this.management.grantRole(current.id, id, role, context));
  }

  @Delete(':id/roles/:role')
  @Roles(RoleName.Admin)
  @ApiOperation({
    summary: 'Revoke a role (idempotent)',
    description:
      "Takes effect on the user's next request. The last active admin cannot lose ROLE_ADMIN.",
  })
  @ApiParam({ name: 'role', enum: RoleName })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse({ description: 'No such user or role', type: ProblemDto })
  @ApiConflictResponse({ description: 'The last active admin', type: ProblemDto })
  async revokeRole(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
    @Param('role') role: string,
  ): Promise<UserResponseDto> {
    return toUserResponse(await this.management.revokeRole(current.id, id, role, context));
  }
}
