import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsString,
  Length,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import {
  APPLICATION_TYPES,
  type ApplicationType,
  CLIENT_AUTH_METHODS,
  CLIENT_GRANT_TYPES,
  CLIENT_SCOPES,
  type ClientAuthenticationMethod,
  type ClientGrantType,
} from '../client-metadata';

const MAX_URIS = 20;
const MAX_URI_LENGTH = 2000;

// Left out means "the default" (create) or "unchanged" (update); null is neither, so it is
// refused like any other value of the wrong type (IsOptional would let it through).
const Omittable = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

const REDIRECT_RULES =
  'Absolute URIs, matched exactly (no fragment). A web client: https, or http only on ' +
  'localhost, 127.0.0.1 or [::1]. A native client: a private-use scheme in reverse-domain ' +
  'form (com.example.app:/callback), a claimed https URI, or http on a loopback address.';

/**
 * The settings of a client other than its name, in RFC 7591 names. Each value's shape is
 * checked here; the rules that tie values together (grants, response types, redirect URIs for
 * the application type) are checked on the whole client by `registrationProblems`.
 */
class OidcClientSettingsDto {
  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_URIS,
    example: ['https://app.example.com/callback'],
    description: `Where authorization answers may be sent. Required (at least one) with authorization_code. ${REDIRECT_RULES}`,
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(MAX_URIS)
  @IsString({ each: true })
  @MaxLength(MAX_URI_LENGTH, { each: true })
  redirect_uris?: string[];

  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_URIS,
    example: ['https://app.example.com/'],
    description: `Where RP-initiated logout may return to; the same rules as redirect_uris. Default: none.`,
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(MAX_URIS)
  @IsString({ each: true })
  @MaxLength(MAX_URI_LENGTH, { each: true })
  post_logout_redirect_uris?: string[];

  @ApiPropertyOptional({
    enum: CLIENT_GRANT_TYPES,
    isArray: true,
    example: ['authorization_code', 'refresh_token'],
    description:
      'Default ["authorization_code"]. refresh_token needs authorization_code; ' +
      'client_credentials needs a confidential client.',
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(CLIENT_GRANT_TYPES.length)
  @IsIn(CLIENT_GRANT_TYPES, { each: true })
  grant_types?: ClientGrantType[];

  @ApiPropertyOptional({
    enum: ['code'],
    isArray: true,
    maxItems: 1,
    example: ['code'],
    description:
      '["code"] with authorization_code, else []; derived from grant_types when left out.',
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(1)
  @IsIn(['code'], { each: true })
  response_types?: string[];

  @ApiPropertyOptional({
    enum: CLIENT_AUTH_METHODS,
    example: 'client_secret_basic',
    description:
      'Default client_secret_basic. `none`: a public client (a SPA or mobile app: no secret, ' +
      'PKCE with S256), which may not have client_credentials.',
  })
  @Omittable()
  @IsIn(CLIENT_AUTH_METHODS)
  token_endpoint_auth_method?: ClientAuthenticationMethod;

  @ApiPropertyOptional({
    example: 'openid profile email offline_access',
    maxLength: 500,
    description: `The scopes the client may ask for, separated by spaces: any of ${CLIENT_SCOPES.join(', ')}. Default "openid".`,
  })
  @Omittable()
  @IsString()
  @MaxLength(500)
  scope?: string;

  @ApiPropertyOptional({
    enum: APPLICATION_TYPES,
    example: 'web',
    description: 'Default web. native: a mobile or desktop app (see redirect_uris).',
  })
  @Omittable()
  @IsIn(APPLICATION_TYPES)
  application_type?: ApplicationType;

  @ApiPropertyOptional({
    example: false,
    description:
      'Our extension: a first-party client (one of our own apps) skips the consent page. Default false.',
  })
  @Omittable()
  @IsBoolean()
  first_party?: boolean;
}

/** POST /oidc-clients: RFC 7591 client metadata; every setting but the name has a default. */
export class CreateOidcClientDto extends OidcClientSettingsDto {
  @ApiProperty({ example: 'Example web app', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  client_name: string;
}

/**
 * PATCH /oidc-clients/:id: the settings to change; the rest stay. The client as changed must
 * pass the same rules as a new one.
 */
export class UpdateOidcClientDto extends OidcClientSettingsDto {
  @ApiPropertyOptional({ example: 'Example web app', minLength: 1, maxLength: 200 })
  @Omittable()
  @IsString()
  @Length(1, 200)
  client_name?: string;
}
