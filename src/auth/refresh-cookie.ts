import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config';
import type { IssuedTokenPair } from './auth.service';
import type { TokenPairDto } from './dto/token-pair.dto';

export const REFRESH_COOKIE = 'refresh_token';
// Sent only to the auth endpoints that read it (refresh, logout), never to the rest of the API.
export const REFRESH_COOKIE_PATH = '/api/v1/auth';

export function readRefreshCookie(request: FastifyRequest): string | undefined {
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

function setCookie(reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  void reply.header(
    'set-cookie',
    `${REFRESH_COOKIE}=${value}; Path=${REFRESH_COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`,
  );
}

export function clearRefreshCookie(reply: FastifyReply): void {
  setCookie(reply, '', 0);
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
  setCookie(reply, pair.refresh_token, pair.refresh_expires_in);
  const { refresh_token: _moved, ...body } = pair;
  return body;
}
