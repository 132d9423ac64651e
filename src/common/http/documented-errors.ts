import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  HeaderObject,
  MediaTypeObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { STATUS_CODES } from 'node:http';
import { MAX_URL_LENGTH } from './early-errors';
import { PROBLEM_CONTENT_TYPE } from './problem';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
type Method = (typeof METHODS)[number];

// Fastify reads a body on these methods before any route code runs, whatever the handler takes.
const BODY_METHODS = new Set<Method>(['post', 'put', 'patch', 'delete']);

const PROBLEM_SCHEMA: ReferenceObject = { $ref: '#/components/schemas/ProblemDto' };

/** Why a status can be answered on an operation, as its description when the route has none. */
const REASONS: Record<number, string> = {
  400: 'Malformed request: a body that is not valid JSON (or nested too deeply), or a path parameter that is not a valid id',
  413: 'The request body is larger than BODY_LIMIT_BYTES',
  414: `The URL is longer than ${MAX_URL_LENGTH} characters, or a path parameter longer than 100`,
  415: 'The request body has another media type than the operation takes',
  431: 'The request headers are too large (16 KB with the request line)',
  500: 'Unexpected error (logged; the answer says nothing more)',
  503: 'The database (or another dependency the answer needs) is unavailable; retry after Retry-After seconds',
};

const HEADERS: Record<number, Record<string, HeaderObject>> = {
  429: {
    'Retry-After': {
      description: 'Seconds until a new attempt may succeed',
      schema: { type: 'integer', minimum: 1 },
    },
  },
  503: {
    'Retry-After': {
      description: 'Seconds after which to try again',
      schema: { type: 'integer', minimum: 1 },
    },
  },
};

const WWW_AUTHENTICATE: Record<string, HeaderObject> = {
  'WWW-Authenticate': {
    description:
      'RFC 6750: `Bearer realm="api"`, with `error="invalid_token"` when a token was sent',
    schema: { type: 'string' },
  },
};

/**
 * The statuses an operation can answer whatever its controller says, from what the route is:
 * every request can meet a URL, header, server or database limit; a method with a body goes
 * through the body parser (400, 413, 415) before the route runs; a path parameter can be
 * malformed (400) or too long (414).
 */
export function frameworkStatuses(method: string, path: string): number[] {
  const statuses = new Set([414, 431, 500, 503]);
  if (BODY_METHODS.has(method as Method)) [400, 413, 415].forEach((s) => statuses.add(s));
  if (path.includes('{')) statuses.add(400);
  return [...statuses].sort((a, b) => a - b);
}

/**
 * Completes every operation's responses with the statuses the framework and the
 * infrastructure answer ({@link frameworkStatuses}), as `application/problem+json` with the
 * ProblemDto schema, an example and the headers that come with them (`Retry-After` on 429 and
 * 503, `WWW-Authenticate` on a 401 problem). Responses the controllers declared with
 * the ProblemDto schema get the media type the service really answers with, which
 * @nestjs/swagger writes as `application/json`.
 */
export function documentFrameworkErrors(document: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      for (const status of frameworkStatuses(method, path)) {
        const response = (operation.responses[String(status)] ??= {
          description: REASONS[status] ?? STATUS_CODES[status] ?? 'Error',
        }) as ResponseObject;
        const content = (response.content ??= {});
        content[PROBLEM_CONTENT_TYPE] ??= {
          schema: PROBLEM_SCHEMA,
          example: exampleProblem(status, path),
        };
      }
      completeDeclaredResponses(operation);
    }
  }
  return document;
}

function completeDeclaredResponses(operation: OperationObject): void {
  for (const [code, response] of Object.entries(operation.responses)) {
    if (response === undefined || '$ref' in response) continue;
    const status = Number(code);
    const json = response.content?.['application/json'];
    if (response.content !== undefined && json !== undefined && isProblemSchema(json)) {
      delete response.content['application/json'];
      response.content[PROBLEM_CONTENT_TYPE] ??= json;
    }
    // Every 401 problem names the scheme; the OAuth2 endpoints' RFC 6749 401s do not.
    const problem401 = status === 401 && response.content?.[PROBLEM_CONTENT_TYPE] !== undefined;
    const headers = { ...(HEADERS[status] ?? {}), ...(problem401 ? WWW_AUTHENTICATE : {}) };
    if (Object.keys(headers).length > 0) response.headers = { ...headers, ...response.headers };
  }
}

function isProblemSchema(media: MediaTypeObject): boolean {
  return (
    media.schema !== undefined &&
    '$ref' in media.schema &&
    media.schema.$ref === PROBLEM_SCHEMA.$ref
  );
}

function exampleProblem(status: number, path: string): Record<string, unknown> {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    instance: path.replace(/\{[^}]+\}/g, '0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11'),
  };
}
