import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class RefreshDto {
  @ApiPropertyOptional({
    description: 'The refresh token from the last token pair (omit when using the refresh cookie)',
    example: 'mF3u0b0bX1pQ0Zt7uQ2kz8l1Yw5cE9rTq4s6vA2hJ0o',
  })
  @IsOptional()
  @IsString()
  // Anything up to the body limit is looked up and refused the same way as a wrong token.
  @MaxLength(65536)
  refresh_token?: string;
}
