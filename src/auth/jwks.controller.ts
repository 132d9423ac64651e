import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../config/app-config';
import { Public } from '../access/public.decorator';
import { JwksDto } from './dto/jwks.dto';

/**
 * RFC 7517 key set for resource servers that verify access tokens themselves, and the OpenID
 * Provider's `jwks_uri` (one key set for both, SPEC §10).
 */
@ApiTags('auth')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly config: AppConfig) {}

  @Get('jwks.json')
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary: 'Public keys for access-token verification (JWKS)',
    description:
      "Includes the previous key during a rotation (JWT_PREVIOUS_PUBLIC_KEYS) and, while access tokens are HS256, the OpenID Provider's ID-token key.",
  })
  @ApiOkResponse({ type: JwksDto })
  jwks(): JwksDto {
    return { keys: [...this.config.jwt.jwks, ...(this.config.oidc?.extraJwks ?? [])] };
  }
}
