import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { IsPasswordCandidate } from '../../passwords/password.validators';
import { IsCanonicalEmail } from '../../users/dto/account-name.validators';
import { ACCOUNT_TOKEN_PATTERN } from '../account-tokens.service';

export class RequestEmailChangeDto {
  @ApiProperty({ example: 'alice.new@example.com', description: 'The new address; lower-cased' })
  @IsCanonicalEmail()
  newEmail: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    description:
      'Your current password (re-authentication); a wrong one is 401 and counts as a failed login',
  })
  @IsPasswordCandidate()
  currentPassword: string;
}

export class ConfirmEmailChangeDto {
  @ApiProperty({
    example: 'vJ2q8mC1tY5nL0pX7rD4sK9wB3eH6gA2fZ1uQ8oT5iM',
    description:
      'The code of the confirmation mail sent to the new address (the `token` of its link)',
  })
  @IsString()
  @Matches(ACCOUNT_TOKEN_PATTERN, { message: 'token must be the code of a mailed link' })
  token: string;
}
