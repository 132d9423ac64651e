import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { clientText } from './client-text';

/** Who is asking and from where, for the request being served (audit log, sessions). */
export interface RequestContext {
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** What work outside any HTTP request (the CLI, jobs) records: nothing is known. */
export const NO_REQUEST_CONTEXT: RequestContext = Object.freeze({
  requestId: null,
  ip: null,
  userAgent: null,
});

/**
 * The context of a Fastify request: its id, client address (proxy headers only with TRUST_PROXY)
 * and user agent, bounded and without control characters for storage. Handed down explicitly, not
 * in an AsyncLocalStorage (docs/decisions.md, "Serialised SQLite transactions", says why).
 */
export function requestContextOf(request: {
  id: string;
  ip: string | undefined;
  headers: { 'user-agent'?: string | string[] };
}): RequestContext {
  const userAgent = request.headers['user-agent'];
  return {
    requestId: request.id,
    ip: request.ip ? request.ip.slice(0, 64) : null,
    userAgent: typeof userAgent === 'string' ? clientText(userAgent, 512) : null,
  };
}

/** Handler parameter: the RequestContext of the request being served. */
export const CurrentRequest = createParamDecorator(
  (_data: unknown, context: ExecutionContext): RequestContext =>
    requestContextOf(context.switchToHttp().getRequest()),
);
