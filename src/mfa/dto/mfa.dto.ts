import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { IsPasswordCandidate } from '../../passwords/password.validators';
import { RECOVERY_CODE_COUNT } from '../recovery-codes/recovery-codes';
import type { SecondFactorMethod, SecondFactorStatus } from '../second-factors';

/** The body of a change to how the account signs in: re-authentication (SPEC §8). */
export class ReauthenticationDto {
  @ApiPropertyOptional({
    example: 'correct horse battery staple',
    description:
      'Your current password; a wrong one is 401 and counts as a failed login. May be left out ' +
      'when this session proved a second factor within MFA_STEP_UP_MAX_AGE seconds ' +
      '(login with a second factor, or POST /auth/mfa/step-up)',
  })
  @IsOptional()
  @IsPasswordCandidate()
  currentPassword?: string;
}

export class ConfirmTotpDto {
  @ApiProperty({
    example: '492039',
    description: 'The 6-digit code the authenticator app shows now',
  })
  @IsString()
  @Length(1, 16)
  code: string;
}

export class TotpEnrolmentDto {
  @ApiProperty({
    example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    description: 'The shared secret in base32, for typing into an app that cannot scan',
  })
  secret: string;

  @ApiProperty({
    example:
      'otpauth://totp/Identity%20service:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Identity%20service&algorithm=SHA1&digits=6&period=30',
    description: 'What the QR code holds (Key URI format: SHA-1, 6 digits, 30 s)',
  })
  otpauthUri: string;

  @ApiProperty({
    example: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA...',
    description: 'The otpauth URI as a QR code: a PNG data URL, usable as an <img src>',
  })
  qrCode: string;
}

export class RecoveryCodesDto {
  @ApiProperty({
    type: [String],
    minItems: RECOVERY_CODE_COUNT,
    maxItems: RECOVERY_CODE_COUNT,
    example: [
      '7k2m-9xqe-4hw3-pt8c',
      'c1vr-m5za-0kqn-38jd',
      'a4wn-tz7q-2b9h-kd6m',
      'xj3p-8rvc-m0ty-5fqe',
      '9hd2-kmw4-zq7s-1vnb',
      'p6ta-3cxr-hj8w-0mzq',
      'e2vq-wn5k-7tdb-y4hs',
      'qm8z-1jxc-6rpa-3tkw',
      'b5ys-h0qm-9ctv-4ezn',
      'w7kc-dq2z-5xmp-8ahr',
    ],
    description:
      `${RECOVERY_CODE_COUNT} single-use codes, shown only in this answer (stored hashed). ` +
      'Each signs in once in place of an authenticator code; case, spaces and dashes do not ' +
      'matter. A new set replaces the old one',
  })
  recoveryCodes: string[];
}

export class TotpStatusDto {
  @ApiProperty({ example: true, description: 'An authenticator is confirmed and in use' })
  enabled: boolean;

  @ApiProperty({
    example: false,
    description: 'An enrolment was started and not confirmed yet',
  })
  pending: boolean;
}

export class MfaStatusDto {
  @ApiProperty({
    enum: ['totp', 'passkey'],
    isArray: true,
    example: ['totp'],
    description: 'The enrolled kinds of second factor; empty: the password alone signs in',
  })
  methods: SecondFactorMethod[];

  @ApiProperty({ type: TotpStatusDto })
  totp: TotpStatusDto;

  @ApiProperty({ example: 0, description: 'Registered passkeys' })
  passkeys: number;

  @ApiProperty({
    example: 10,
    description: 'Unused recovery codes (only the count: the codes are shown once)',
  })
  recoveryCodesRemaining: number;
}

export function toMfaStatus(status: SecondFactorStatus): MfaStatusDto {
  return {
    methods: status.methods,
    totp: { enabled: status.methods.includes('totp'), pending: status.totpPending },
    passkeys: status.passkeys,
    recoveryCodesRemaining: status.recoveryCodesRemaining,
  };
}
