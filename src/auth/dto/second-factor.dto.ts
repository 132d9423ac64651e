import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { ValidationFailedError } from '../../common/errors/validation-failed.error';
import type { SecondFactorAnswer } from '../mfa/second-factor-sign-in.service';

/** The answer fields of a second-factor step: exactly one of them. */
export class SecondFactorAnswerDto {
  @ApiPropertyOptional({
    description: 'The 6-digit code of the authenticator app (TOTP)',
    example: '492039',
  })
  @IsOptional()
  @IsString()
  @Length(1, 16)
  code?: string;

  @ApiPropertyOptional({
    description: 'One of the recovery codes (single use; case, spaces and dashes do not matter)',
    example: '7k2m-9xqp-4hst-b8vn',
  })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  recovery_code?: string;
}

export class VerifyMfaDto extends SecondFactorAnswerDto {
  @ApiProperty({
    description: 'The `mfa_token` of the login answer',
    example: 'q1yS3m1yOZ3Kx8n8rC1n3o7bY0H5bqGmR0c2v6tW9sE',
  })
  @IsString()
  @Length(1, 128)
  mfa_token: string;
}

/** Which answer the body carries; 400 unless exactly one field is given. */
export function answerOf(body: SecondFactorAnswerDto): SecondFactorAnswer {
  const given: SecondFactorAnswer[] = [];
  if (body.code !== undefined) given.push({ method: 'totp', code: body.code });
  if (body.recovery_code !== undefined) {
    given.push({ method: 'recovery_code', code: body.recovery_code });
  }
  const [answer] = given;
  if (given.length !== 1 || answer === undefined) {
    throw new ValidationFailedError([
      { field: 'code', message: 'send exactly one of code, recovery_code' },
    ]);
  }
  return answer;
}
