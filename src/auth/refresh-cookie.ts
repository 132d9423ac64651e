import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../common/errors/oauth-error';
import type { AppConfig } from '../config/app-config';
import type { RefreshCookieSameSite } from '../config/environment';
import type { IssuedTokenPair } from './auth.service';
import type { TokenPairDto } from './dto/token-pair.dto';

export const REFRESH_COOKIE = 'refresh_token';
// Sent only to the auth endpoints that read it (refresh, logout), never to the rest of the API.
export const REFRESH_COOKIE_PATH = '/api/v1/auth';
/**
 * With REFRESH_COOKIE_SAMESITE=none, a refresh by cookie must carry this header (any value,
 * e.g. `1`): a page can only add it through a CORS preflight, which only CORS_ORIGINS pass.
 */
export const CSRF_HEADER = 'x-csrf-protection';

const SAME_SITE: Record<RefreshCookieSameSite, string> = {
  strict: 'Strict',
  lax: 'Lax',
  none: 'None',
};

function readRefreshCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index !== -1 && part.slice(0, index).trim() === REFRESH_COOKIE) {
      return part.slice(index + 1).trim();
    }
  }
  return undefined;
}

/**
 * The refresh token of the cookie, in cookie mode (REFRESH_TOKEN_COOKIE=true); undefined when
 * there is none. With SameSite=None the browser sends the cookie along with requests other
 * sites make, so the request must also show it comes from a page of CORS_ORIGINS: an Origin
 * of that list and the CSRF header (OWASP's origin check plus custom request header; see
 * docs/decisions.md, "Cross-site refresh cookie"). Otherwise 403, the cookie unused.
 */
export function refreshTokenFromCookie(
  config: AppConfig,
  request: FastifyRequest,
): string | undefined {
  if (!config.refresh.cookie) return undefined;
  const token = readRefreshCookie(request);
  if (token === undefined || token === '' || config.refresh.cookieSameSite !== 'none') {
    return token;
  }
  const origin = request.headers.origin;
  const marked = request.headers[CSRF_HEADER];
  if (
    origin === undefined ||
    !config.http.corsOrigins.includes(origin) ||
    typeof marked !== 'string' ||
    marked.trim() === ''
  ) {
    throw new OAuthError(
      'invalid_request',
      'A refresh with the cookie must come from an allowed origin with the X-CSRF-Protection header',
      403,
    );
  }
  return token;
}

/** The Set-Cookie value; always Secure and HttpOnly (SameSite=None requires Secure). */
export function refreshCookieHeader(
  sameSite: RefreshCookieSameSite,
  value: string,
  maxAgeSeconds: number,
): string {
  return (
    `${REFRESH_COOKIE}=${value}; Path=${REFRESH_COOKIE_PATH}; Max-Age=${maxAgeSeconds}; ` +
    `HttpOnly; Secure; SameSite=${SAME_SITE[sameSite]}`
  );
}

function setCookie(
  config: AppConfig,
  reply: FastifyReply,
  value: string,
  maxAgeSeconds: number,
): void {
  void reply.header(
    'set-cookie',
    refreshCookieHeader(config.refresh.cookieSameSite, value, maxAgeSeconds),
  );
}

/**
 * Removes the cookie in cookie mode. With the configured SameSite: a browser drops a cookie
 * set in a cross-site response unless it is SameSite=None.
 */
export function clearRefreshCookie(config: AppConfig, reply: FastifyReply): void {
  if (config.refresh.cookie) setCookie(config, reply, '', 0);
}

/**
 * In cookie mode (REFRESH_TOKEN_COOKIE=true) the refresh token leaves the body for an
 * HttpOnly cookie, out of reach of page scripts.
 */
export function deliverTokens(
  config: AppConfig,
  reply: FastifyReply,
  pair: IssuedTokenPair,
): TokenPairDto {
  if (!config.refresh.cookie) return pair;
  setCookie(config, reply, pair.refresh_token, pair.refresh_expires_in);
  const { refresh_token: _moved, ...body } = pair;
  return body;
}
