import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** RFC 6749 token request (form-encoded). Checked by the endpoint so errors keep the OAuth shape. */
export class TokenRequestDto {
  @ApiProperty({ enum: ['password', 'refresh_token'], example: 'password' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  grant_type?: string;

  @ApiPropertyOptional({ example: 'alice', description: 'Username or email (password grant)' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  username?: string;

  @ApiPropertyOptional({ example: 'correct horse battery staple', description: 'Password grant' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ description: 'Refresh token (refresh_token grant)' })
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  refresh_token?: string;

  @ApiPropertyOptional({ description: 'Ignored: the service has no scopes' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  scope?: string;

  @ApiPropertyOptional({ description: 'Ignored: public clients only' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_id?: string;

  @ApiPropertyOptional({ description: 'Ignored: public clients only' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_secret?: string;
}
