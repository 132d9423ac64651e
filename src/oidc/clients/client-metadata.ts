import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientAuthMethod, ClientMetadata, ResponseType } from 'oidc-provider';
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
