import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { CurrentUser } from '../access/current-user.decorator';
import { Public } from '../access/public.decorator';
import { Roles } from '../access/roles.decorator';
import { RequireMfa } from '../access/require-mfa.decorator';
import { RoleName } from '../access/role-name';

class ContentDto {
  @ApiProperty({ example: 'Moderator content.' })
  message: string;
}

/** Small role-gated routes that show the guards at work. */
@ApiTags('content')
@Controller('content')
export class ContentController {
  @Get('public')
  @Public()
  @ApiOperation({ summary: 'Anyone' })
  @ApiOkResponse({ type: ContentDto })
  public(): ContentDto {
    return { message: 'Public content.' };
  }

  @Get('user')
  @Roles(RoleName.User)
  @ApiOperation({ summary: 'Any logged-in user (ROLE_USER and up)' })
  @ApiOkResponse({ type: ContentDto })
  user(@CurrentUser() user: AuthenticatedUser): ContentDto {
    return { message: `User content for ${user.username}.` };
  }

  @Get('moderator')
  @Roles(RoleName.Moderator)
  @ApiOperation({ summary: 'ROLE_MODERATOR and up' })
  @ApiOkResponse({ type: ContentDto })
  moderator(): ContentDto {
    return { message: 'Moderator content.' };
  }

  @Get('admin')
  @Roles(RoleName.Admin)
  @ApiOperation({ summary: 'ROLE_ADMIN only' })
  @ApiOkResponse({ type: ContentDto })
  admin(): ContentDto {
    return { message: 'Admin content.' };
  }

  @Get('step-up')
  @RequireMfa()
  @ApiOperation({
    summary: 'Any logged-in user who proved a second factor within MFA_STEP_UP_MAX_AGE',
    description:
      'Shows `@RequireMfa()` at work: without a recent second factor 401 ' +
      '`mfa_step_up_required` with `WWW-Authenticate: Bearer error="insufficient_user_authentication", ' +
      'max_age=N` (RFC 9470); POST /auth/mfa/step-up, then retry with the new access token.',
  })
  @ApiOkResponse({ type: ContentDto })
  stepUp(@CurrentUser() user: AuthenticatedUser): ContentDto {
    return { message: `Step-up content for ${user.username}.` };
  }
}
