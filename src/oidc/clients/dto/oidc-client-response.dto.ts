import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  APPLICATION_TYPES,
  CLIENT_AUTH_METHODS,
  CLIENT_GRANT_TYPES,
  registrationOf,
} from '../client-metadata';
import type { OidcClient } from '../../entities/oidc-client.entity';

/** What the API says about a client: its RFC 7591 metadata. Never its secret or its hash. */
export class OidcClientDto {
  @ApiProperty({ example: 'uV3kq9Zt2cX8rB1mN4pL0w', description: 'Random (128 bits)' })
  client_id: string;

  @ApiProperty({
    type: 'integer',
    example: 1764760000,
    description: 'When the client was registered, in seconds since 1970 (RFC 7591)',
  })
  client_id_issued_at: number;

  @ApiProperty({ example: 'Example web app' })
  client_name: string;

  @ApiProperty({ enum: APPLICATION_TYPES, example: 'web' })
  application_type: string;

  @ApiProperty({ type: [String], example: ['https://app.example.com/callback'] })
  redirect_uris: string[];

  @ApiProperty({ type: [String], example: ['https://app.example.com/'] })
  post_logout_redirect_uris: string[];

  @ApiProperty({ enum: CLIENT_GRANT_TYPES, isArray: true, example: ['authorization_code'] })
  grant_types: string[];

  @ApiProperty({ enum: ['code'], isArray: true, example: ['code'] })
  response_types: string[];

  @ApiProperty({ enum: CLIENT_AUTH_METHODS, example: 'client_secret_basic' })
  token_endpoint_auth_method: string;

  @ApiProperty({ example: 'openid profile email' })
  scope: string;

  @ApiProperty({ example: false, description: 'Skips the consent page (our extension)' })
  first_party: boolean;
}

/**
 * A client with the secret just issued to it: the only time the secret is shown (only its
 * SHA-256 is stored). Without `client_secret` when none was issued (a public client, or a
 * change that kept the secret).
 */
export class IssuedOidcClientDto extends OidcClientDto {
  @ApiPropertyOptional({
    example: 'Xo2S1bqkM0H8yq4n7JmC1wq0b5Wm7rjY2dAqg8t3K9E',
    description:
      'The client secret (256 bits): shown only in this answer; store it now. For ' +
      'client_secret_basic or client_secret_post.',
  })
  client_secret?: string;

  @ApiPropertyOptional({
    type: 'integer',
    enum: [0],
    example: 0,
    description: 'With client_secret: 0, the secret does not expire (RFC 7591)',
  })
  client_secret_expires_at?: 0;
}

export function toOidcClientResponse(client: OidcClient): OidcClientDto {
  return {
    client_id: client.id,
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    ...registrationOf(client),
  };
}

/** The client, and `secret` once when one was issued by this very request. */
export function toIssuedOidcClient(client: OidcClient, secret?: string): IssuedOidcClientDto {
  return {
    ...toOidcClientResponse(client),
    ...(secret === undefined ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
  };
}
