import { type INestApplication, RequestMethod } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ACCOUNT_PAGE_FORMS, ACCOUNT_PAGE_ROUTES } from './account-pages/account-pages.module';
import {
  clientErrorHandler,
  frameworkErrors,
  MAX_URL_LENGTH,
  sendEarlyProblem,
} from './common/http/early-errors';
import { depthLimitedJsonParser } from './common/http/json-body';
import { acceptFormBodiesOnlyWhereDocumented } from './common/http/media-types';
import { CORS_VARY_HEADERS, corsPolicy } from './common/http/cors';
import { responseHeadersFor } from './common/http/security-headers';
import type { AppConfig } from './config/app-config';
import type { Logger } from './logging/logger';
import { RequestLogController } from './logging/request-line';
import { recordRequests } from './metrics/http-metrics';
import { METRICS_PATH } from './metrics/metrics.controller';
import { Metrics } from './metrics/metrics.service';
import { INTERACTION_FORMS } from './oidc/interaction/interaction.controller';
import { INTERACTION_PATH } from './oidc/provider/oidc-configuration';
import { OidcProviderService } from './oidc/provider/oidc-provider.service';
import { buildOpenApiDocument, DOCS_PATH, setupSwagger } from './swagger';

export const API_PREFIX = 'api/v1';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** A caller's X-Request-Id is kept when it is short and plain; otherwise a new id is made. */
function requestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The Fastify adapter, with `logger` (main.ts's) for Fastify's own lines and one line per
 * request (RequestLogController); `false` logs nothing (the e2e tests).
 */
export function createFastifyAdapter(
  config: AppConfig,
  options: { logger: Logger | false },
): FastifyAdapter {
  return new FastifyAdapter({
    trustProxy: config.http.trustProxy,
    bodyLimit: config.http.bodyLimitBytes,
    genReqId: requestId,
    requestIdHeader: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    clientErrorHandler,
    frameworkErrors,
    ...(options.logger === false
      ? { logger: false }
      : {
          loggerInstance: options.logger,
          logController: new RequestLogController(options.logger),
        }),
  });
}

/**
 * The key set and the metrics live at their conventional root paths, the account pages where
 * mailed links point (`${PUBLIC_URL}/account/...`), everything else under /api/v1.
 */
export function setRoutePrefix(app: INestApplication): void {
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: '.well-known/jwks.json', method: RequestMethod.GET },
      { path: METRICS_PATH, method: RequestMethod.GET },
      ...ACCOUNT_PAGE_ROUTES,
      // The OpenID Provider's sign-in pages, beside the provider's own routes (src/oidc).
      { path: `${INTERACTION_PATH}/*path`, method: RequestMethod.ALL },
    ],
  });
}

/**
 * Everything about the HTTP app that is not a provider, shared by main.ts and the e2e tests so
 * both serve the same thing.
 */
export async function configureApp(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  setRoutePrefix(app);
  const fastify = app.getHttpAdapter().getInstance();
  recordRequests(fastify, app.get(Metrics));
  // One hook sets every response's own headers: the security headers, `Vary: Origin` (CORS
  // headers depend on it), the request id, and CORS for listed origins; it answers preflights.
  const responseHeaders = responseHeadersFor(`/${DOCS_PATH}`, CORS_VARY_HEADERS);
  const cors = corsPolicy(config.http.corsOrigins);
  // The provider's routes answer CORS per client themselves (CORS_ORIGINS must not widen it).
  const provider = app.get(OidcProviderService);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(responseHeaders(request.url)).header('x-request-id', request.id);
    if (!provider.serves(request.url) && cors(request, reply)) return;
    // Node takes up to 16 KB of request line and headers; a URL needs far less (RFC 9110
    // §4.1 asks for 8000 octets).
    if (request.url.length > MAX_URL_LENGTH) sendEarlyProblem(request, reply, 414);
    else done();
  });
  // Bodies are JSON (depth-limited) or, where documented, form-encoded; Fastify's text/plain
  // parser goes, so anything else is a 415 before it reaches a handler.
  app.useBodyParser(
    'application/json',
    { bodyLimit: config.http.bodyLimitBytes },
    depthLimitedJsonParser(fastify),
  );
  fastify.removeContentTypeParser('text/plain');
  // The provider's routes, which read their own bodies (before any parser runs).
  provider.mount(fastify);
  const document = buildOpenApiDocument(app);
  // The account and sign-in pages' forms too: they are left out of the API's document.
  acceptFormBodiesOnlyWhereDocumented(fastify, document, [
    ...ACCOUNT_PAGE_FORMS,
    ...INTERACTION_FORMS,
  ]);
  if (config.http.swaggerEnabled) setupSwagger(app, document);
  await app.init();
  await fastify.ready();
}
