import type { IncomingMessage } from 'node:http';
import { type RequestContext, requestContextOf } from '../../common/request-context';

/** The id our Fastify hook gave each request it handed to the provider. */
const REQUEST_IDS = new WeakMap<IncomingMessage, string>();

export function rememberRequestId(request: IncomingMessage, id: string): void {
  REQUEST_IDS.set(request, id);
}

/**
 * The audit context of a request the provider handles: our request id, the client address Koa
 * saw (X-Forwarded-For only with TRUST_PROXY: `provider.proxy` follows it) and the user agent,
 * bounded as every request's are.
 */
export function providerRequestContext(ctx: { req: IncomingMessage; ip: string }): RequestContext {
  return requestContextOf({
    id: REQUEST_IDS.get(ctx.req) ?? '',
    ip: ctx.ip,
    headers: ctx.req.headers,
  });
}
