import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { IsPasswordCandidate } from '../../passwords/password.validators';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../passwords/password-policy';

export class ChangePasswordDto {
  @ApiProperty({ example: 'correct horse battery staple' })
  @IsPasswordCandidate()
  currentPassword: string;

  @ApiProperty({
    example: 'plum tree harbor at dawn',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: 'Checked against the password policy (length, common passwords, own names)',
  })
  @IsString()
  newPassword: string;
}
