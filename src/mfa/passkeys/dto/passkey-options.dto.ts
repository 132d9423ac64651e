import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

// Documentation of what @simplewebauthn/server generates (the WebAuthn JSON forms), for
// navigator.credentials.create() / .get() or @simplewebauthn/browser.

const CREDENTIAL_LIST: { type: 'array'; items: SchemaObject } = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'Credential id (base64url)' },
      type: { type: 'string', enum: ['public-key'] },
      transports: { type: 'array', items: { type: 'string' } },
    },
  },
};

export class RegistrationOptionsDto {
  @ApiProperty({ description: 'base64url, single use, valid MFA_TOKEN_TTL seconds' })
  challenge: string;

  @ApiProperty({
    type: 'object',
    properties: { id: { type: 'string' }, name: { type: 'string' } },
    example: { id: 'id.example.com', name: 'Identity Service' },
  })
  rp: { id?: string; name: string };

  @ApiProperty({
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      displayName: { type: 'string' },
    },
    description: 'id: the user handle, base64url of the 16 bytes of the user id (never the email)',
    example: { id: 'Cb5HkOLkS2a0rY0gXy3bEw', name: 'alice', displayName: 'alice' },
  })
  user: { id: string; name: string; displayName: string };

  @ApiProperty({
    type: 'array',
    items: {
      type: 'object',
      properties: { alg: { type: 'integer' }, type: { type: 'string' } },
    },
    example: [
      { alg: -8, type: 'public-key' },
      { alg: -7, type: 'public-key' },
      { alg: -257, type: 'public-key' },
    ],
  })
  pubKeyCredParams: Array<{ alg: number; type: string }>;

  @ApiPropertyOptional({ type: 'integer', example: 300000, description: 'Milliseconds' })
  timeout?: number;

  @ApiPropertyOptional({
    ...CREDENTIAL_LIST,
    description: 'Your registered passkeys: an authenticator that holds one is not used again',
  })
  excludeCredentials?: unknown[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
  })
  authenticatorSelection?: object;

  @ApiPropertyOptional({ example: 'none' })
  attestation?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { credProps: true } })
  extensions?: object;
}

export class AuthenticationOptionsDto {
  @ApiProperty({ description: 'base64url, single use, valid MFA_TOKEN_TTL seconds' })
  challenge: string;

  @ApiPropertyOptional({ type: 'integer', example: 300000, description: 'Milliseconds' })
  timeout?: number;

  @ApiPropertyOptional({ example: 'id.example.com' })
  rpId?: string;

  @ApiPropertyOptional({
    ...CREDENTIAL_LIST,
    description:
      'The passkeys of the account (second factor, step-up); absent for a usernameless sign-in',
  })
  allowCredentials?: unknown[];

  @ApiPropertyOptional({ enum: ['required', 'preferred', 'discouraged'], example: 'required' })
  userVerification?: string;
}
