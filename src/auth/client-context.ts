import type { FastifyRequest } from 'fastify';
import type { ClientContext } from './sessions/sessions.service';

/** Client address (proxy headers only with TRUST_PROXY) and user agent, bounded for storage. */
export function clientContext(request: FastifyRequest): ClientContext {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip ? request.ip.slice(0, 64) : null,
    userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent.slice(0, 512) : null,
  };
}
