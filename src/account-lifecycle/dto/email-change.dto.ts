import { ApiProperty } from '@nestjs/swagger';
import { IsPasswordCandidate } from '../../passwords/password.validators';
import { IsCanonicalEmail } from '../../users/dto/account-name.validators';
import { IsAccountToken } from './account-token.validators';

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
  @IsAccountToken(
    'The code of the confirmation mail sent to the new address (the `token` of its link)',
  )
  token: string;
}
