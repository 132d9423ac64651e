import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { IsPasswordCandidate } from '../../passwords/password.validators';

export class LoginDto {
  @ApiProperty({ example: 'alice', description: 'Username or email address' })
  @IsString()
  @Length(1, 254)
  username: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsPasswordCandidate()
  password: string;
}
