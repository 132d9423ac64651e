import { ApiProperty } from '@nestjs/swagger';

export class TokenPairDto {
  @ApiProperty({ description: 'JWT access token (header typ at+jwt)' })
  access_token: string;

  @ApiProperty({ example: 'Bearer', enum: ['Bearer'] })
  token_type: 'Bearer';

  @ApiProperty({ example: 900, description: 'Seconds until the access token expires' })
  expires_in: number;
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
