import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { instanceOf } from '../common/http/problem';

/** The key of the request id on every line of a request (Fastify's own lines too). */
export const REQUEST_ID_KEY = 'requestId';

/** What the one line of a finished request records. */
export interface RequestLine {
  requestId: string;
  method: string;
  /** The matched route's template (`/api/v1/users/:id`); absent when no route matched. */
  route?: string;
  path: string;
  status: number;
  durationMs: number;
  userId?: string;
  ip?: string;
}

interface LoggedRequest {
  id: string;
  method: string;
  url: string;
  routeOptions?: { url?: string };
  ip?: string;
  user?: unknown;
}

/**
 * The line of a finished request: never headers (tokens, cookies) and only the path of the
 * URL, since a query string may carry a token someone put there by mistake. The user id is
 * there once a guard authenticated the request.
 */
export function requestLine(
  request: LoggedRequest,
  status: number,
  elapsedMs: number,
): RequestLine {
  const line: RequestLine = {
    requestId: request.id,
    method: request.method,
    path: instanceOf(request.url),
    status,
    durationMs: Math.round(elapsedMs * 100) / 100,
  };
  const route = request.routeOptions?.url;
  if (route !== undefined) line.route = route;
  const userId = (request.user as { id?: unknown } | null | undefined)?.id;
  if (typeof userId === 'string') line.userId = userId;
  if (request.ip !== undefined) line.ip = request.ip;
  return line;
}

/** How any line that mentions a request shows it (pino's `req` serializer): no headers, no query. */
export function requestLogEntry(request: LoggedRequest): {
  method: string;
  path: string;
  ip?: string;
} {
  return { method: request.method, path: instanceOf(request.url), ip: request.ip };
}

/**
 * Fastify's request logging reduced to one line per request, written when the response has
 * been sent, instead of an "incoming" and a "completed" line. The line is only built when its
 * level is enabled. Lines Fastify would add for 4xx and unknown routes are left out: the
 * request line carries the status (docs/decisions.md, "Request logging").
 */
export class RequestLogController extends LogController {
  constructor(private readonly logger: Logger) {
    super({ requestIdLogLabel: REQUEST_ID_KEY });
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      if (!this.logger.isLevelEnabled('error')) return;
      const line = requestLine(request, reply.statusCode, reply.elapsedTime);
      this.logger.error({ ...line, err: error }, 'request errored');
      return;
    }
    if (!this.logger.isLevelEnabled('info')) return;
    this.logger.info(
      requestLine(request, reply.statusCode, reply.elapsedTime),
      'request completed',
    );
  }

  override routeNotFound(): void {}

  override defaultErrorLog(
    error: Error,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (reply.statusCode >= 500) super.defaultErrorLog(error, request, reply, metadata);
  }
}
