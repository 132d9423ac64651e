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

  @ApiPropertyOptional({
    enum: [true],
    description:
      'Present when MFA_REQUIRED_FOR_ROLES names a role of the user and this session proved no ' +
      'second factor: the access token is enrolment-only (every route not meant for enrolment ' +
      'answers 403 `mfa_enrolment_required`). Enrol (POST /users/me/mfa/totp, .../confirm), ' +
      'then step up (POST /auth/mfa/step-up) or log in again for a normal token.',
    example: true,
  })
  mfa_enrolment_required?: true;
}

export class OAuthErrorDto {
  @ApiProperty({
    example: 'invalid_grant',
    enum: ['invalid_request', 'invalid_grant', 'unsupported_grant_type', 'mfa_required'],
  })
  error: string;

  @ApiProperty({ example: 'Invalid username or password' })
  error_description: string;

  @ApiPropertyOptional({
    description: '`mfa_required` only: the token for POST /auth/mfa/verify',
    example: 'q1yS3m1yOZ3Kx8n8rC1n3o7bY0H5bqGmR0c2v6tW9sE',
  })
  mfa_token?: string;

  @ApiPropertyOptional({
    description: '`mfa_required` only: the second factors the user can answer with',
    example: ['totp', 'recovery_code'],
    type: [String],
  })
  methods?: string[];

  @ApiPropertyOptional({
    type: 'integer',
    description: '`mfa_required` only: seconds until the mfa_token expires',
    example: 300,
  })
  expires_in?: number;
}

/** A password login of a user with a second factor (SPEC §9): no tokens yet. */
export class MfaRequiredDto {
  @ApiProperty({ enum: [true], example: true })
  mfa_required: true;

  @ApiProperty({
    description:
      'Single use, MFA_TOKEN_TTL seconds, dead after MFA_TOKEN_MAX_ATTEMPTS wrong codes; good ' +
      'only for POST /auth/mfa/verify (not a bearer token, not a refresh token)',
    example: 'q1yS3m1yOZ3Kx8n8rC1n3o7bY0H5bqGmR0c2v6tW9sE',
  })
  mfa_token: string;

  @ApiProperty({
    description: 'What POST /auth/mfa/verify takes: `totp` (field `code`), `recovery_code`',
    example: ['totp', 'recovery_code'],
    type: [String],
  })
  methods: string[];

  @ApiProperty({ type: 'integer', example: 300, description: 'Seconds until mfa_token expires' })
  expires_in: number;
}
