import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientAuthMethod, ClientMetadata, ResponseType } from 'oidc-provider';
import type { FieldError } from '../../common/errors/domain-error';
import type { OidcClient } from '../entities/oidc-client.entity';

/**
 * What oidc-provider is told of a stored secret: never the secret (we keep only its hash), but
 * this marker and the hash. OidcProviderService compares a presented secret by hashing it.
 */
export const HASHED_SECRET_PREFIX = 'sha256:';

/** Hex SHA-256 of a client secret (256 random bits; a slow hash adds nothing there). */
export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `presented` is the secret whose marker oidc-provider holds, in constant time. */
export function clientSecretMatches(stored: string | undefined, presented: string): boolean {
  if (stored === undefined || !stored.startsWith(HASHED_SECRET_PREFIX)) return false;
  const expected = Buffer.from(stored.slice(HASHED_SECRET_PREFIX.length), 'hex');
  const actual = Buffer.from(hashClientSecret(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A JSON list column as an array (empty when unreadable). */
export function jsonList(value: string): string[] {
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.filter((entry) => typeof entry === 'string') : [];
  } catch {
    return [];
  }
}

/** A stored client as the RFC 7591 metadata oidc-provider validates and serves it by. */
export function clientMetadata(client: OidcClient): ClientMetadata {
  return {
    client_id: client.id,
    client_name: client.clientName,
    application_type: client.applicationType,
    redirect_uris: jsonList(client.redirectUris),
    post_logout_redirect_uris: jsonList(client.postLogoutRedirectUris),
    grant_types: jsonList(client.grantTypes),
    response_types: jsonList(client.responseTypes) as ResponseType[],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod as ClientAuthMethod,
    scope: client.scope,
    ...(client.secretHash === null
      ? {}
      : { client_secret: `${HASHED_SECRET_PREFIX}${client.secretHash}` }),
  };
}

/** Grants a client may be allowed (SPEC §10); implicit and device flows are not offered. */
export const CLIENT_GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
] as const;
export type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number];

/** How a client authenticates at the token endpoint; `none` is a public client (PKCE). */
export const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
export type ClientAuthenticationMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** Scopes the provider knows; a client may be allowed any of them. */
export const CLIENT_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'roles'] as const;

export const APPLICATION_TYPES = ['web', 'native'] as const;
export type ApplicationType = (typeof APPLICATION_TYPES)[number];

/** A client's settings as an administrator gives them, in RFC 7591 names, complete. */
export interface ClientRegistration {
  client_name: string;
  application_type: ApplicationType;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: ClientGrantType[];
  response_types: string[];
  token_endpoint_auth_method: ClientAuthenticationMethod;
  scope: string;
  first_party: boolean;
}

/** What a client registered with nothing but its name and redirect URIs gets. */
export const DEFAULT_REGISTRATION: Omit<ClientRegistration, 'client_name'> = {
  application_type: 'web',
  redirect_uris: [],
  post_logout_redirect_uris: [],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'openid',
  first_party: false,
};

/** The response types that go with `grantTypes`: the code flow's, or none at all. */
export function responseTypesFor(grantTypes: readonly string[]): string[] {
  return grantTypes.includes('authorization_code') ? ['code'] : [];
}

/** A stored client's settings (as the admin API shows and changes them). */
export function registrationOf(client: OidcClient): ClientRegistration {
  return {
    client_name: client.clientName,
    application_type: client.applicationType,
    redirect_uris: jsonList(client.redirectUris),
    post_logout_redirect_uris: jsonList(client.postLogoutRedirectUris),
    grant_types: jsonList(client.grantTypes) as ClientGrantType[],
    response_types: jsonList(client.responseTypes),
    token_endpoint_auth_method: client.tokenEndpointAuthMethod as ClientAuthenticationMethod,
    scope: client.scope,
    first_party: client.firstParty,
  };
}

/** The columns that hold `registration` (the id, secret and dates are the caller's). */
export function registrationColumns(
  registration: ClientRegistration,
): Omit<OidcClient, 'id' | 'secretHash' | 'createdAt' | 'updatedAt'> {
  return {
    clientName: registration.client_name,
    applicationType: registration.application_type,
    redirectUris: JSON.stringify(registration.redirect_uris),
    postLogoutRedirectUris: JSON.stringify(registration.post_logout_redirect_uris),
    grantTypes: JSON.stringify(registration.grant_types),
    responseTypes: JSON.stringify(registration.response_types),
    tokenEndpointAuthMethod: registration.token_endpoint_auth_method,
    scope: registration.scope,
    firstParty: registration.first_party,
  };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
// Schemes a browser runs or reads locally: never a place to send an authorization code.
const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'vbscript:',
  'data:',
  'blob:',
  'file:',
  'about:',
]);

/**
 * Why `uri` cannot be a redirect URI of an `applicationType` client, or undefined when it can.
 * Stricter than oidc-provider, which takes any http URI for a web client: a code sent over
 * plain http to another host can be read on the way, so http is only for the machine itself.
 * Native apps follow RFC 8252: a private-use scheme in reverse-domain form, a claimed https
 * URI, or http on a loopback address.
 */
export function redirectUriProblem(
  uri: string,
  applicationType: ApplicationType,
): string | undefined {
  // The provider compares redirect URIs character for character: what is stored must be exact.
  if ([...uri].some((character) => character.trim() === '' || isControl(character))) {
    return 'must not contain spaces or control characters';
  }
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  if (uri.includes('#')) return 'must not contain a fragment';
  if (parsed.username !== '' || parsed.password !== '') return 'must not contain credentials';
  const { protocol, hostname } = parsed;
  const loopback = LOOPBACK_HOSTS.has(hostname);
  if (applicationType === 'web') {
    if (protocol === 'https:' || (protocol === 'http:' && loopback)) return undefined;
    return 'must use https (http only for localhost, 127.0.0.1 or [::1])';
  }
  if (protocol === 'http:') {
    return loopback ? undefined : 'must use http only on localhost, 127.0.0.1 or [::1]';
  }
  if (protocol === 'https:') {
    return loopback ? 'must not use https on a loopback address (use http)' : undefined;
  }
  if (FORBIDDEN_SCHEMES.has(protocol)) return `must not use the ${protocol.slice(0, -1)} scheme`;
  // RFC 8252 §7.1: a private-use scheme names a domain the app's author controls, reversed.
  if (!protocol.includes('.')) {
    return 'must use a private-use scheme in reverse-domain form (com.example.app:/callback), https, or http on a loopback address';
  }
  return undefined;
}

function isControl(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code < 0xa0);
}

/**
 * What is wrong with `registration` as a whole (each problem names its field), beyond the
 * shape of each value, which the DTOs check. Applied to a new client and to a stored one with
 * a change merged in, so no sequence of changes can reach a client these rules refuse.
 */
export function registrationProblems(registration: ClientRegistration): FieldError[] {
  const problems: FieldError[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  const grants = registration.grant_types;
  const codeFlow = grants.includes('authorization_code');
  if (grants.length === 0) add('grant_types', 'grant_types must name at least one grant');
  if (new Set(grants).size !== grants.length) {
    add('grant_types', 'grant_types must not repeat a grant');
  }
  if (grants.includes('refresh_token') && !codeFlow) {
    add('grant_types', 'refresh_token needs authorization_code among grant_types');
  }
  if (grants.includes('client_credentials') && registration.token_endpoint_auth_method === 'none') {
    add(
      'token_endpoint_auth_method',
      'client_credentials needs a confidential client (client_secret_basic or client_secret_post), not none',
    );
  }
  const expected = responseTypesFor(grants);
  if (JSON.stringify(registration.response_types) !== JSON.stringify(expected)) {
    add(
      'response_types',
      codeFlow
        ? 'response_types must be ["code"] with authorization_code'
        : 'response_types must be empty without authorization_code',
    );
  }
  if (codeFlow && registration.redirect_uris.length === 0) {
    add('redirect_uris', 'redirect_uris must name at least one URI with authorization_code');
  }
  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    const uris = registration[field];
    if (new Set(uris).size !== uris.length) add(field, `${field} must not repeat a URI`);
    uris.forEach((uri, index) => {
      const problem = redirectUriProblem(uri, registration.application_type);
      if (problem !== undefined) add(`${field}.${index}`, `${field}.${index} ${problem}`);
    });
  }
  const known = new Set<string>(CLIENT_SCOPES);
  const scopes = registration.scope.split(' ');
  const unknown = scopes.filter((scope) => !known.has(scope));
  if (registration.scope === '' || scopes.includes('')) {
    add('scope', 'scope must be scope names separated by single spaces');
  } else if (unknown.length > 0) {
    add('scope', `scope may only name ${CLIENT_SCOPES.join(', ')} (not ${unknown.join(', ')})`);
  } else if (new Set(scopes).size !== scopes.length) {
    add('scope', 'scope must not repeat a scope');
  }
  return problems;
}
