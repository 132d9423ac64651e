import { RequestMethod } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { requestContextOf, runWithRequestContext } from './common/request-context';
import type { AppConfig } from './config/app-config';
import { setupSwagger } from './swagger';

export const API_PREFIX = 'api/v1';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** A caller's X-Request-Id is kept when it is short and plain; otherwise a new id is made. */
function requestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export function createFastifyAdapter(
  config: AppConfig,
  options: { logger: boolean },
): FastifyAdapter {
  return new FastifyAdapter({
    trustProxy: config.http.trustProxy,
    bodyLimit: config.http.bodyLimitBytes,
    genReqId: requestId,
    requestIdHeader: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    logger: options.logger
      ? {
          level: config.logLevel,
          redact: {
            paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
            censor: '[redacted]',
          },
        }
      : false,
  });
}

/**
 * Everything about the HTTP app that is not a provider, shared by main.ts and the e2e tests so
 * both serve the same thing.
 */
export async function configureApp(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  // The key set lives at the conventional root path, everything else under /api/v1.
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [{ path: '.well-known/jwks.json', method: RequestMethod.GET }],
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  // preHandler, not onRequest: body parsing resumes in the socket's async context, which would
  // lose a context entered earlier. Guards, pipes and handlers all run after this hook.
  fastify.addHook('preHandler', (request, _reply, done) => {
    runWithRequestContext(requestContextOf(request), done);
  });
  app.enableCors({
    // Only listed origins get CORS headers (and credentials); everything else, `null` included,
    // gets none.
    origin: config.http.corsOrigins,
    credentials: true,
    exposedHeaders: ['X-Request-Id', 'WWW-Authenticate', 'Retry-After'],
  });
  if (config.http.swaggerEnabled) setupSwagger(app);
  await app.init();
  await fastify.ready();
}
