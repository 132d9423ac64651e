import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { reportRefusal } from './refusals';
import { DomainError, PROBLEM_TYPES } from '../errors/domain-error';
import { isInfrastructureFailure, RETRY_AFTER_SECONDS } from '../errors/infrastructure-failure';
import { OAuthError } from '../errors/oauth-error';
import { uniqueViolation } from '../errors/unique-violation';
import { ValidationFailedError } from '../errors/validation-failed.error';
import { JSON_TOO_DEEP } from './json-body';
import { instanceOf, Problem, problem, PROBLEM_CONTENT_TYPE, safeJsonStringify } from './problem';

// Messages Nest and Fastify build from the request (e.g. "Cannot GET /path") are replaced with
// fixed text: nothing from the request is echoed back.
const GENERIC_DETAIL: Record<number, string> = {
  400: 'The request could not be understood',
  401: 'Authentication is required',
  403: 'You do not have permission to perform this action',
  404: 'The requested resource does not exist',
  405: 'The method is not allowed for this resource',
  406: 'The requested representation is not available',
  413: 'The request body is too large',
  415: 'The request body has an unsupported media type',
  429: 'Too many requests',
};

// Fastify's own errors (body parsing, media type, size) by code; their messages name Fastify.
// The Fastify adapter hands them to the filters as an HttpException caused by the original.
const FASTIFY_DETAIL = new Map<unknown, string>([
  ['FST_ERR_CTP_INVALID_JSON_BODY', 'The request body is not valid JSON'],
  ['FST_ERR_CTP_EMPTY_JSON_BODY', 'The request body is empty'],
  ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'The request body does not match its Content-Length'],
  ['FST_ERR_CTP_BODY_TOO_LARGE', 'The request body is too large'],
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'The request body has an unsupported media type'],
  [JSON_TOO_DEEP, 'The JSON body is nested too deeply'],
]);

/**
 * The one translation from errors to HTTP: domain errors, validation failures and HTTP
 * exceptions become RFC 9457 problem details; OAuth errors keep the RFC 6749 shape; anything
 * unknown is logged and answered with a generic 500.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');

  catch(thrown: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const exception = this.unavailableIfInfrastructure(thrown, request);
    // 401, 403 and 429 are counted for the audit log (aggregated, written off the request path).
    reportRefusal(request, exception);

    if (exception instanceof OAuthError) {
      void reply
        .status(exception.status)
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .header('content-type', 'application/json; charset=utf-8')
        .send(
          safeJsonStringify({
            error: exception.error,
            error_description: exception.description,
            ...exception.extra,
          }),
        );
      return;
    }

    const body = this.toProblem(exception, request);
    // The request id travels in the X-Request-Id header only, so two answers to the same
    // mistake are byte-identical bodies (nothing to tell one failure cause from another).
    body.instance = instanceOf(request.url);
    if (exception instanceof DomainError && exception.meta.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', String(exception.meta.retryAfterSeconds));
    }
    if (body.status === 401) {
      void reply.header('www-authenticate', wwwAuthenticate(exception));
    }
    void reply
      .status(body.status)
      .header('cache-control', 'no-store')
      .header('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
      .send(safeJsonStringify(body));
  }

  /**
   * The database or Redis could not serve: a 503 the client may retry, whatever the path was
   * doing (a token check, a login, a logout). Logged with the driver's code and message only:
   * a QueryFailedError also carries the SQL and its parameters.
   */
  private unavailableIfInfrastructure(exception: unknown, request: FastifyRequest): unknown {
    if (exception instanceof DomainError || !isInfrastructureFailure(exception)) return exception;
    const cause: unknown =
      exception instanceof QueryFailedError ? exception.driverError : exception;
    const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
    const text = [code, message].filter((part) => typeof part === 'string').join(' ');
    this.logger.warn(
      `Infrastructure failure on ${request.method} ${instanceOf(request.url)} (request ${request.id}): ${text}`,
      requestFields(request),
    );
    return new DomainError(
      'service_unavailable',
      'The service is temporarily unavailable; retry later',
      undefined,
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
    );
  }

  private toProblem(exception: unknown, request: FastifyRequest): Problem {
    if (exception instanceof DomainError) {
      const { status, title } = PROBLEM_TYPES[exception.code];
      return problem(status, {
        type: `urn:problem:identity:${exception.code.replace(/_/g, '-')}`,
        title,
        detail: exception.message,
        errors: exception.errors,
      });
    }
    if (exception instanceof ValidationFailedError) {
      return problem(400, {
        type: 'urn:problem:identity:validation-failed',
        title: 'Validation failed',
        detail: exception.message,
        errors: exception.errors,
      });
    }
    if (uniqueViolation(exception) !== undefined) {
      // A race the services did not anticipate: still a conflict, never a 500.
      return problem(409, { detail: 'The resource conflicts with an existing one' });
    }
    const status = statusOf(exception);
    if (status === 503 && exception instanceof HttpException) {
      // Raised on purpose (readiness): not an unexpected error.
      return problem(503, { detail: 'The service is not ready' });
    }
    if (status !== undefined && status < 500) {
      return problem(status, {
        detail:
          FASTIFY_DETAIL.get(fastifyCode(exception)) ??
          GENERIC_DETAIL[status] ??
          'The request failed',
      });
    }
    this.logger.error(
      `Unhandled error on ${request.method} ${instanceOf(request.url)} (request ${request.id})`,
      exception instanceof Error ? exception.stack : String(exception),
      requestFields(request),
    );
    return problem(500, { detail: 'An unexpected error occurred' });
  }
}

// RFC 9470: the token is good, but the user must authenticate again (recently enough).
const STEP_UP_CODES = new Set<string>(['mfa_step_up_required', 'reauthentication_required']);

/** The RFC 6750 challenge of a 401; RFC 9470's step-up challenge with its `max_age`. */
export function wwwAuthenticate(exception: unknown): string {
  if (!(exception instanceof DomainError)) return 'Bearer realm="api"';
  if (exception.code === 'invalid_token') {
    return 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or expired"';
  }
  if (STEP_UP_CODES.has(exception.code)) {
    const maxAge = exception.meta.maxAgeSeconds;
    return (
      'Bearer realm="api", error="insufficient_user_authentication", ' +
      `error_description="${exception.message.replace(/["\\]/g, '')}"` +
      (maxAge === undefined ? '' : `, max_age=${maxAge}`)
    );
  }
  return 'Bearer realm="api"';
}

/** The request id and, once a guard authenticated it, the user id: fields of its log lines. */
function requestFields(request: FastifyRequest): { requestId: string; userId?: string } {
  const userId = (request as { user?: { id?: unknown } }).user?.id;
  return typeof userId === 'string' ? { requestId: request.id, userId } : { requestId: request.id };
}

function statusOf(exception: unknown): number | undefined {
  if (exception instanceof HttpException) return exception.getStatus();
  // Errors raised by Fastify itself (body parsing, content type, size) carry a statusCode.
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 600
    ? statusCode
    : undefined;
}

function fastifyCode(exception: unknown): unknown {
  const original = exception instanceof HttpException ? exception.cause : exception;
  return (original as { code?: unknown } | null | undefined)?.code;
}
