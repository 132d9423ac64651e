import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, ValidateIf } from 'class-validator';
import { IsPasswordCandidate } from '../../passwords/password.validators';
import { IsCanonicalEmail, IsCanonicalUsername } from './account-name.validators';

/** The names of an account, as its owner or an administrator may change them. */
class AccountNamesDto {
  @ApiPropertyOptional({ example: 'alice.smith', description: 'Unique; lower-cased' })
  @IsOptional()
  @IsCanonicalUsername()
  username?: string;

  @ApiPropertyOptional({ example: 'alice.smith@example.com', description: 'Unique; lower-cased' })
  @IsOptional()
  @IsCanonicalEmail()
  email?: string;
}

/** What a user may change about themselves. Roles and activation are not among them. */
export class UpdateProfileDto extends AccountNamesDto {
  @ApiPropertyOptional({
    example: 'correct horse battery staple',
    description:
      'Your current password: required to change `email` (the address that can recover the ' +
      'account); a wrong one is 401 and counts as a failed login. Not needed for `username`.',
  })
  @ValidateIf(
    (dto: UpdateProfileDto) => dto.email !== undefined || dto.currentPassword !== undefined,
  )
  @IsPasswordCandidate()
  currentPassword?: string;
}

/** What an administrator may change about a user (roles have their own routes). */
export class AdminUpdateUserDto extends AccountNamesDto {
  @ApiPropertyOptional({
    example: false,
    description: 'false deactivates the account and ends all its sessions at once',
  })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;

  @ApiPropertyOptional({
    example: true,
    description:
      'Marks the email verified (true) or not (false). A changed `email` is unverified unless ' +
      'this says true in the same request.',
  })
  @IsOptional()
  @IsBoolean()
  emailVerified?: boolean;
}
