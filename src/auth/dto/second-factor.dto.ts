import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Length } from 'class-validator';
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

  @ApiPropertyOptional({
    description:
      'A passkey assertion (the JSON of navigator.credentials.get(), e.g. from ' +
      '@simplewebauthn/browser startAuthentication) for the options of ' +
      'POST /auth/mfa/passkey-options (login) or POST /auth/mfa/step-up/passkey-options',
    type: 'object',
    additionalProperties: true,
    example: {
      id: 'mUq3iD0Lx0X2Y1rS6bTq4w',
      rawId: 'mUq3iD0Lx0X2Y1rS6bTq4w',
      type: 'public-key',
      response: {
        clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoi…',
        authenticatorData: 'SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ',
        signature: 'MEUCIQDq…',
      },
      clientExtensionResults: {},
    },
  })
  @IsOptional()
  @IsObject()
  passkey?: object;
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
  if (body.passkey !== undefined) given.push({ method: 'passkey', response: body.passkey });
  const [answer] = given;
  if (given.length !== 1 || answer === undefined) {
    throw new ValidationFailedError([
      { field: 'code', message: 'send exactly one of code, recovery_code, passkey' },
    ]);
  }
  return answer;
}
