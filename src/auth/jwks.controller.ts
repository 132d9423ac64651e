import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../config/app-config';
import type { PublicJwk } from '../config/signing-keys';
import { Public } from '../access/public.decorator';

class JwksDto {
  @ApiProperty({
    description: 'Public keys that verify access tokens (empty with HS256)',
    example: [
      {
        kty: 'EC',
        crv: 'P-256',
        x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
        y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
        kid: 'kid',
        alg: 'ES256',
        use: 'sig',
      },
    ],
  })
  keys: PublicJwk[];
}

/** RFC 7517 key set for resource servers that verify access tokens themselves. */
@ApiTags('auth')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly config: AppConfig) {}

  @Get('jwks.json')
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary: 'Public keys for access-token verification (JWKS)',
    description: 'Includes the previous key during a rotation (JWT_PREVIOUS_PUBLIC_KEYS).',
  })
  @ApiOkResponse({ type: JwksDto })
  jwks(): JwksDto {
    return { keys: this.config.jwt.jwks };
  }
}
