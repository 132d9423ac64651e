import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { PasskeyRow } from '../passkeys.repository';

const trimmed = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

const NAME = {
  description: 'A name to tell your passkeys apart (1 to 64 characters)',
  example: 'MacBook Touch ID',
  minLength: 1,
  maxLength: 64,
};

const REGISTRATION_EXAMPLE = {
  id: 'hH9w3cY1r8mJ0b6Qe2o0bA',
  rawId: 'hH9w3cY1r8mJ0b6Qe2o0bA',
  type: 'public-key',
  response: {
    clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoi...',
    attestationObject: 'o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjF...',
    transports: ['internal', 'hybrid'],
  },
  clientExtensionResults: {},
  authenticatorAttachment: 'platform',
};

const AUTHENTICATION_EXAMPLE = {
  id: 'hH9w3cY1r8mJ0b6Qe2o0bA',
  rawId: 'hH9w3cY1r8mJ0b6Qe2o0bA',
  type: 'public-key',
  response: {
    clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoi...',
    authenticatorData: 'SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ',
    signature: 'MEUCIQDx...',
    userHandle: 'Cb5HkOLkS2a0rY0gXy3bEw',
  },
  clientExtensionResults: {},
  authenticatorAttachment: 'platform',
};

export class RegisterPasskeyDto {
  @ApiProperty({
    description:
      'What navigator.credentials.create() returned for the registration options, as JSON ' +
      '(RegistrationResponseJSON; @simplewebauthn/browser startRegistration() gives it)',
    type: 'object',
    additionalProperties: true,
    example: REGISTRATION_EXAMPLE,
  })
  @IsObject()
  response: RegistrationResponseJSON;

  @ApiPropertyOptional(NAME)
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 64)
  name?: string;
}

export class RenamePasskeyDto {
  @ApiProperty(NAME)
  @Transform(trimmed)
  @IsString()
  @Length(1, 64)
  name: string;
}

export class PasskeyAssertionDto {
  @ApiProperty({
    description:
      'What navigator.credentials.get() returned for the request options, as JSON ' +
      '(AuthenticationResponseJSON; @simplewebauthn/browser startAuthentication() gives it)',
    type: 'object',
    additionalProperties: true,
    example: AUTHENTICATION_EXAMPLE,
  })
  @IsObject()
  response: AuthenticationResponseJSON;
}

export class PasskeyMfaOptionsDto {
  @ApiProperty({
    description: 'The mfa_token POST /auth/login answered',
    example: 'q1Vd3y0Wc3tR8p2o1k9J7h5g3f1d9s7a5Q3w1e9r7t5',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/, { message: 'mfa_token must be the token /auth/login gave' })
  mfa_token: string;
}

export class PasskeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-7d4a-4e0b-9a6f-2c5d8e1b7a90' })
  id: string;

  @ApiProperty({ example: 'MacBook Touch ID' })
  name: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: 'string' })
  lastUsedAt: string | null;

  @ApiProperty({
    enum: ['singleDevice', 'multiDevice'],
    description: 'multiDevice: a synced passkey (it may be on other devices of yours)',
    example: 'multiDevice',
  })
  deviceType: 'singleDevice' | 'multiDevice';

  @ApiProperty({ description: 'Whether the passkey is backed up (synced)', example: true })
  backedUp: boolean;

  @ApiProperty({
    type: [String],
    description: 'How the browser reaches the authenticator (usb, nfc, ble, internal, hybrid)',
    example: ['internal', 'hybrid'],
  })
  transports: string[];
}

export function toPasskeyResponse(passkey: PasskeyRow): PasskeyResponseDto {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    transports: passkey.transports,
  };
}
