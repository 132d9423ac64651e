import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class TokenPairDto {
  @ApiProperty({ description: 'JWT access token (header typ at+jwt)' })
  access_token: string;

  @ApiProperty({ example: 'Bearer', enum: ['Bearer'] })
  token_type: 'Bearer';

  @ApiProperty({
    type: 'integer',
    example: 900,
    description: 'Seconds until the access token expires',
  })
  expires_in: number;

  @ApiPropertyOptional({
    description:
      'Opaque refresh token (256 bits), single use. Absent when REFRESH_TOKEN_COOKIE=true: it is then ' +
      'set as an HttpOnly cookie scoped to /api/v1/auth (login, refresh, password change).',
    example: 'mF3u0b0bX1pQ0Zt7uQ2kz8l1Yw5cE9rTq4s6vA2hJ0o',
  })
  refresh_token?: string;

  @ApiProperty({
    type: 'integer',
    example: 604800,
    description: 'Seconds until the session expires if unused',
  })
  refresh_expires_in: number;
}

export class OAuthErrorDto {
  @ApiProperty({
    example: 'invalid_grant',
    enum: ['invalid_request', 'invalid_grant', 'unsupported_grant_type'],
  })
  error: string;

  @ApiProperty({ example: 'Invalid username or password' })
  error_description: string;
}
