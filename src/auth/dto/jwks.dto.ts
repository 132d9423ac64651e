import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { PublicJwk } from '../../config/signing-keys';

/** One public key (RFC 7517, RFC 7518 §6): RSA (n, e), EC (crv, x, y) or OKP (crv, x). */
export class JwkDto {
  @ApiProperty({ enum: ['RSA', 'EC', 'OKP'], example: 'EC', description: 'Key type' })
  kty: string;

  @ApiProperty({ example: 'tNqN0Yb1xTfQG8hS', description: 'Key id, as in the token header' })
  kid: string;

  @ApiProperty({ enum: ['RS256', 'ES256', 'EdDSA'], example: 'ES256' })
  alg: string;

  @ApiProperty({ enum: ['sig'], example: 'sig' })
  use: string;

  @ApiPropertyOptional({ description: 'RSA modulus (base64url)' })
  n?: string;

  @ApiPropertyOptional({ description: 'RSA public exponent (base64url)', example: 'AQAB' })
  e?: string;

  @ApiPropertyOptional({ enum: ['P-256', 'Ed25519'], example: 'P-256', description: 'Curve' })
  crv?: string;

  @ApiPropertyOptional({
    description: 'Curve point x (base64url)',
    example: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  })
  x?: string;

  @ApiPropertyOptional({
    description: 'Curve point y (base64url; EC only)',
    example: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  })
  y?: string;
}

/** RFC 7517 key set. */
export class JwksDto {
  @ApiProperty({
    type: [JwkDto],
    description: 'Public keys that verify access tokens (empty with HS256)',
  })
  keys: PublicJwk[];
}
