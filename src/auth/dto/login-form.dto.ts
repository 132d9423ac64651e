import { Equals, IsOptional, IsString, MaxLength } from 'class-validator';
import { LoginDto } from './login.dto';

/**
 * The login body as the FastAPI tutorials' clients post it: `OAuth2PasswordRequestForm`
 * fields, form-encoded. Only `username` and `password` count; the OAuth2 extras are accepted
 * (bounded) so those clients work unchanged, and anything else is refused as in JSON.
 */
export class LoginFormDto extends LoginDto {
  @IsOptional()
  @IsString()
  @Equals('password', { message: 'grant_type must be "password"' })
  grant_type?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  scope?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_id?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_secret?: string;
}
