import { AsyncLocalStorage } from 'node:async_hooks';

/** Who is asking and from where, for the request being served (audit log, logs). */
export interface RequestContext {
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` (and everything it awaits) with `context` as the current request context. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The current request's context; outside a request (CLI, jobs) every field is null. */
export function currentRequestContext(): RequestContext {
  return storage.getStore() ?? { requestId: null, ip: null, userAgent: null };
}

/** The context of a Fastify request: its id, client address and user agent, bounded for storage. */
export function requestContextOf(request: {
  id: string;
  ip: string | undefined;
  headers: { 'user-agent'?: string | string[] };
}): RequestContext {
  const userAgent = request.headers['user-agent'];
  return {
    requestId: request.id,
    ip: request.ip ? request.ip.slice(0, 64) : null,
    userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent.slice(0, 512) : null,
  };
}
