/** The parts of a Fastify request an observer of refusals reads. */
export interface RefusedRequest {
  id?: string;
  ip?: string;
  server?: object;
  routeOptions?: { url?: string };
  user?: unknown;
}

export interface RefusalObserver {
  /** Sees every error answer of its server; must not throw or do I/O on the request path. */
  observe(request: RefusedRequest, exception: unknown): void;
}

// The observer of each Fastify instance (several apps may share a process in tests), found from
// the request: the exception filter needs no injection (it is also built with `new`). The
// audit log registers itself here, so this folder does not depend on it.
const byServer = new WeakMap<object, RefusalObserver>();

export function observeRefusals(server: object, observer: RefusalObserver): void {
  byServer.set(server, observer);
}

/** Called by the exception filter for every error answer. */
export function reportRefusal(request: RefusedRequest, exception: unknown): void {
  if (request.server === undefined) return;
  byServer.get(request.server)?.observe(request, exception);
}
