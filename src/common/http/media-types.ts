import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';

export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

/** `POST /api/v1/auth/token` for every operation documented to take a form-encoded body. */
export function formEncodedOperations(document: OpenAPIObject): Set<string> {
  const operations = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const body = item[method]?.requestBody;
      if (body !== undefined && 'content' in body && FORM_MEDIA_TYPE in body.content) {
        // OpenAPI writes parameters as {id}, Fastify's routes as :id.
        operations.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
      }
    }
  }
  return operations;
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(';', 1)[0].trim().toLowerCase();
}

/** Whether a request's body is form-encoded, however its Content-Type is written. */
export function isFormEncoded(request: { headers: { 'content-type'?: string } }): boolean {
  return mediaTypeOf(request.headers['content-type']) === FORM_MEDIA_TYPE;
}

/**
 * Form-encoded bodies are parsed (the OAuth2 token endpoint needs them) but accepted only by
 * the operations whose OpenAPI description says so (`@ApiConsumes`), so what the API accepts is
 * what it documents. Everywhere else they get 415 before parsing: a JSON route then takes only
 * `application/json`, which a cross-site page cannot send without a CORS preflight.
 * `undocumented` lists more operations that take them (`POST /account/verify-email`).
 */
export function acceptFormBodiesOnlyWhereDocumented(
  fastify: FastifyInstance,
  document: OpenAPIObject,
  undocumented: readonly string[] = [],
): void {
  const operations = formEncodedOperations(document);
  for (const operation of undocumented) operations.add(operation);
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    if (
      isFormEncoded(request) &&
      !operations.has(`${request.method} ${request.routeOptions.url}`)
    ) {
      done(new UnsupportedMediaTypeException());
      return;
    }
    done(null, payload);
  });
}
