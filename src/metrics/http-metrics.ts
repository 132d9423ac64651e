import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.service';

/** The route label of a request no route matched (404s, early refusals): one series, not one per URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Every answered request into the HTTP histogram, labelled with its route's template
 * (`/api/v1/users/:id`), never the URL a client typed, so the series stay few.
 */
export function recordRequests(fastify: FastifyInstance, metrics: Metrics): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(
      request.method,
      request.routeOptions.url ?? UNMATCHED_ROUTE,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}
