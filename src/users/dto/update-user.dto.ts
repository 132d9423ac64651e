import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { IsCanonicalEmail, IsCanonicalUsername } from './account-name.validators';

/** What a user may change about themselves. Roles and activation are not among them. */
export class UpdateProfileDto {
  @ApiPropertyOptional({ example: 'alice.smith', description: 'Unique; lower-cased' })
  @IsOptional()
  @IsCanonicalUsername()
  username?: string;

  @ApiPropertyOptional({ example: 'alice.smith@example.com', description: 'Unique; lower-cased' })
  @IsOptional()
  @IsCanonicalEmail()
  email?: string;
}

/** What an administrator may change about a user (roles have their own routes). */
export class AdminUpdateUserDto extends UpdateProfileDto {
  @ApiPropertyOptional({
    example: false,
    description: 'false deactivates the account and ends all its sessions at once',
  })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;
}
