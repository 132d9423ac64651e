import type { FastifyReply, FastifyRequest } from 'fastify';

/** Every method the API has; a preflight for any of them from a listed origin is allowed. */
export const CORS_ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
export const CORS_EXPOSED_HEADERS = 'X-Request-Id, WWW-Authenticate, Retry-After';
/** How long a browser may reuse a preflight's answer (seconds; browsers cap it lower). */
export const CORS_MAX_AGE_SECONDS = 600;
/**
 * On every response, CORS or not: its CORS headers depend on Origin, so a shared cache must not
 * hand an answer made for one origin (or for none) to another.
 */
export const CORS_VARY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  vary: 'Origin',
});

/**
 * CORS for the origins in CORS_ORIGINS, with credentials: only a listed origin, compared exactly,
 * gets CORS headers; others (`null` included) get none. Returns true when it answered a preflight
 * from a listed origin itself (204, before any guard); other preflights go on to a 404. Our own
 * hook rather than @fastify/cors for ~10% of a cached request (docs/decisions.md, "CORS in our
 * own hook").
 */
export function corsPolicy(
  allowedOrigins: readonly string[],
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  const allowed = new Set(allowedOrigins);
  return (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return false;
    void reply.headers({
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': CORS_EXPOSED_HEADERS,
    });
    if (
      request.method !== 'OPTIONS' ||
      request.headers['access-control-request-method'] === undefined
    ) {
      return false;
    }
    const requestedHeaders = request.headers['access-control-request-headers'];
    void reply
      .headers({
        'access-control-allow-methods': CORS_ALLOWED_METHODS,
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
        vary: 'Origin, Access-Control-Request-Headers',
        ...(requestedHeaders === undefined
          ? {}
          : { 'access-control-allow-headers': requestedHeaders }),
      })
      .code(204)
      .header('content-length', '0')
      .send();
    return true;
  };
}
