import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../passwords/password-policy';
import { IsAccountToken } from './account-token.validators';

export class ResetPasswordDto {
  @IsAccountToken('The `token` of the link in the reset mail (or the code it shows)')
  token: string;

  @ApiProperty({
    example: 'plum tree harbor at dawn',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: 'Checked against the password policy (length, common passwords, own names)',
  })
  @IsString()
  newPassword: string;
}
