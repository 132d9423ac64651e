import { ApiProperty } from '@nestjs/swagger';
import { IsCanonicalEmail } from '../../users/dto/account-name.validators';

export class ForgotPasswordDto {
  @ApiProperty({
    example: 'alice@example.com',
    maxLength: 254,
    description: 'The address of the account (case-insensitive)',
  })
  @IsCanonicalEmail()
  email: string;
}
