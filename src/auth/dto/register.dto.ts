import { ApiProperty } from '@nestjs/swagger';
import { IsAcceptablePassword } from '../../passwords/password.validators';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../passwords/password-policy';
import { IsCanonicalEmail, IsCanonicalUsername } from '../../users/dto/account-name.validators';

export class RegisterDto {
  @ApiProperty({
    example: 'alice@example.com',
    maxLength: 254,
    description: 'Stored lower-cased; unique case-insensitively',
  })
  @IsCanonicalEmail()
  email: string;

  @ApiProperty({
    example: 'alice',
    pattern: '^[a-z0-9._-]{3,32}$',
    description: 'Lower-cased (and NFKC-normalised) before the pattern is checked; unique',
  })
  @IsCanonicalUsername()
  username: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description:
      'Any characters; not one of the most common passwords, not the username or email (NIST SP 800-63B)',
  })
  @IsAcceptablePassword()
  password: string;
}
