import type { FastifyRequest } from 'fastify';
import { requestContextOf } from '../common/request-context';
import type { ClientContext } from './sessions/sessions.service';

/** Client address (proxy headers only with TRUST_PROXY) and user agent, recorded on sessions. */
export function clientContext(request: FastifyRequest): ClientContext {
  const { ip, userAgent } = requestContextOf(request);
  return { ip, userAgent };
}
