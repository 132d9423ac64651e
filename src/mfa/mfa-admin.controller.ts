import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RateLimit } from '../abuse/rate-limit.decorator';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { CurrentUser } from '../access/current-user.decorator';
import { RoleName } from '../access/role-name';
import { Roles } from '../access/roles.decorator';
import { ProblemDto } from '../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../common/request-context';
import { MfaStatusDto, toMfaStatus } from './dto/mfa.dto';
import { MfaResetService } from './mfa-reset.service';

const UUID = new ParseUUIDPipe({ version: undefined });
const NOT_FOUND = 'No such user, or MFA_ENABLED=false';

/** Staff views and an administrator's reset of a user's second factors (SPEC §9). */
@ApiTags('users')
@Controller('users')
export class MfaAdminController {
  constructor(private readonly resets: MfaResetService) {}

  // Moderators see every account already (GET /users/:id); this adds only counts, no secret,
  // and lets support tell whether a locked-out user needs an administrator's reset.
  @Get(':id/mfa')
  @Roles(RoleName.Moderator)
  @ApiOperation({ summary: "A user's second factors (what is enrolled, no secret)" })
  @ApiOkResponse({ type: MfaStatusDto })
  @ApiNotFoundResponse({ description: NOT_FOUND, type: ProblemDto })
  async status(@Param('id', UUID) id: string): Promise<MfaStatusDto> {
    return toMfaStatus(await this.resets.statusFor(id));
  }

  @Delete(':id/mfa')
  @HttpCode(204)
  @Roles(RoleName.Admin)
  @RateLimit({ perAccount: false })
  @ApiOperation({
    summary: "Reset a user's second factors (a user who lost them)",
    description:
      'In one step: the authenticator (TOTP), every passkey and the recovery codes are ' +
      'deleted and every session of the user ends (its access tokens stop working at once). ' +
      'The user is told by mail and signs in with the password alone until enrolling again ' +
      '(or must enrol first, for a role in MFA_REQUIRED_FOR_ROLES). Audited as ' +
      'mfa.reset_by_admin with the administrator as actor.',
  })
  @ApiNoContentResponse({ description: 'The second factors are gone and the sessions ended' })
  @ApiNotFoundResponse({ description: NOT_FOUND, type: ProblemDto })
  async reset(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', UUID) id: string,
  ): Promise<void> {
    await this.resets.reset(current.id, id, context);
  }
}
