import type { JsonWebKey } from 'node:crypto';
import {
  type Configuration,
  errors,
  interactionPolicy,
  type KoaContextWithOIDC,
  type ResourceServer,
} from 'oidc-provider';
import type { AppConfig } from '../../config/app-config';
import type { OidcSettings } from '../../config/oidc-settings';
import type { OidcAccounts } from './oidc-accounts';

/** Where the interaction (sign-in and consent) pages live, outside the API prefix. */
export const INTERACTION_PATH = 'oidc/interaction';

/** The provider's endpoints below the issuer; the key set is the service's one JWKS. */
export const OIDC_ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  end_session: '/oidc/session/end',
  introspection: '/oidc/token/introspection',
  revocation: '/oidc/token/revocation',
  pushed_authorization_request: '/oidc/request',
  jwks: '/.well-known/jwks.json',
} as const;

export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'roles'] as const;

/** Lifetime of an authorization code (seconds): RFC 6749 §4.1.2 asks for at most ten minutes. */
export const AUTHORIZATION_CODE_TTL = 60;
/** How long a sign-in on the interaction pages may take (seconds). */
export const INTERACTION_TTL = 600;

/** What the configuration needs of the rest of the service. */
export interface ConfigurationParts {
  config: AppConfig;
  oidc: OidcSettings;
  accounts: OidcAccounts;
  adapter: Configuration['adapter'];
  pages: {
    error(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): void;
    logout(ctx: KoaContextWithOIDC, form: string): void;
    loggedOut(ctx: KoaContextWithOIDC): void;
  };
}

/**
 * oidc-provider's configuration. Its recommended production settings are followed (a database
 * adapter, our own findAccount and interaction pages, dev interactions off, cookie keys, a key
 * set, PKCE, CORS per client, explicit lifetimes, no error details for clients); the
 * deviations are in docs/decisions.md, "OpenID Provider on oidc-provider".
 */
export function providerConfiguration(parts: ConfigurationParts): Configuration {
  const { config, oidc, accounts } = parts;
  const apiServer = apiResourceServer(config);
  const policy = interactionPolicy.base();
  // A provider session whose sign-in session of ours has ended (logout, revocation, password
  // change, deactivation) is no sign-in any more: the user signs in again.
  policy.get('login')?.checks.add(
    new interactionPolicy.Check('session_ended', 'The sign-in session has ended', async (ctx) => {
      const { session, result } = ctx.oidc;
      if (session?.accountId === undefined || result?.login !== undefined) return false;
      return !(await accounts.sessionLive(session.uid, session.accountId));
    }),
  );

  return {
    adapter: parts.adapter,
    findAccount: accounts.findAccount,
    jwks: { keys: [privateJwk(oidc)] },
    cookies: {
      keys: oidc.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username'],
      email: ['email', 'email_verified'],
      roles: ['roles'],
    },
    scopes: [...OIDC_SCOPES],
    responseTypes: ['code'],
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: oidc.idTokenKey.alg,
    },
    enabledJWA: {
      idTokenSigningAlgValues: [oidc.idTokenKey.alg],
      userinfoSigningAlgValues: [oidc.idTokenKey.alg],
      introspectionSigningAlgValues: [oidc.idTokenKey.alg],
    },
    // The registered redirect URI is named on every request and compared exactly.
    allowOmittingSingleRegisteredRedirectUri: false,
    pkce: { required: () => true },
    routes: OIDC_ROUTES,
    interactions: {
      url: (_ctx, interaction) => `/${INTERACTION_PATH}/${interaction.uid}`,
      policy,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A token of a user whose session has ended, or of a deleted client, is inactive,
        // whatever the provider stored.
        allowedPolicy: async (ctx, client, token) => {
          if (client.clientAuthMethod === 'none') return false;
          // A deleted client's tokens are dead (the provider would fail looking it up).
          const { clientId } = token;
          if (clientId === undefined || !(await ctx.oidc.provider.Client.find(clientId))) {
            return false;
          }
          const { sessionUid, accountId } = token as { sessionUid?: string; accountId?: string };
          if (sessionUid === undefined || accountId === undefined) return true;
          return accounts.sessionLive(sessionUid, accountId);
        },
      },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens (RFC 7009 §2.1); another's is refused.
        allowedPolicy: (_ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => parts.pages.logout(ctx, form),
        postLogoutSuccessSource: (ctx) => parts.pages.loggedOut(ctx),
      },
      resourceIndicators: {
        enabled: true,
        // No resource asked for: an opaque token for userinfo (SPEC §10; docs/decisions.md).
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator === oidc.apiResource) return apiServer;
          throw new errors.InvalidTarget();
        },
      },
    },
    extraTokenClaims: async (_ctx, token) => {
      const { resourceServer, sessionUid, accountId } = token as {
        resourceServer?: ResourceServer;
        sessionUid?: string;
        accountId?: string;
      };
      if (resourceServer?.audience !== config.jwt.audience) return undefined;
      return accounts.apiTokenClaims(sessionUid, accountId);
    },
    // Every app that may refresh gets a refresh token, rotated at every use (a reused one is
    // refused); it lives no longer than the sign-in session it belongs to (findAccount).
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: config.jwt.accessTokenTtlSeconds,
      ClientCredentials: config.jwt.accessTokenTtlSeconds,
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      IdToken: config.jwt.accessTokenTtlSeconds,
      RefreshToken: config.refresh.idleTtlSeconds,
      Interaction: INTERACTION_TTL,
      Session: config.refresh.absoluteTtlSeconds,
      Grant: config.refresh.absoluteTtlSeconds,
    },
    clientBasedCORS: (_ctx, origin, client) =>
      (client.redirectUris ?? []).some((uri) => originOf(uri) === origin),
    renderError: (ctx, out) => parts.pages.error(ctx, out),
    // ID tokens carry the protocol's claims; profile, email and roles come from userinfo.
    conformIdTokenClaims: true,
  };
}

/** The API as a resource server: JWT access tokens our guard accepts (SPEC §4, §10). */
function apiResourceServer(config: AppConfig): ResourceServer {
  const { jwt } = config;
  return {
    scope: OIDC_SCOPES.join(' '),
    audience: jwt.audience,
    accessTokenTTL: jwt.accessTokenTtlSeconds,
    accessTokenFormat: 'jwt',
    jwt: {
      sign:
        jwt.algorithm === 'HS256'
          ? { alg: 'HS256', key: jwt.signingKey }
          : { alg: jwt.algorithm, kid: jwt.signingKid },
    },
  };
}

/** The provider's one signing key, as the private JWK it takes (its public half is in our JWKS). */
function privateJwk(oidc: OidcSettings): JsonWebKey & { kid: string; alg: string; use: string } {
  const { key, kid, alg } = oidc.idTokenKey;
  return { ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

function originOf(uri: string): string | undefined {
  try {
    // A private-use scheme (a native app's `com.example.app:/callback`) has the opaque origin
    // "null", which a sandboxed frame or a file: page also sends: it names no web origin.
    const { origin } = new URL(uri);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
