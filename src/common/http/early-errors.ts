import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { instanceOf, problem, PROBLEM_CONTENT_TYPE, safeJsonStringify } from './problem';
import { CORS_VARY_HEADERS } from './cors';
import { API_RESPONSE_HEADERS } from './security-headers';

// Answers given before any hook runs carry the same security headers as every other answer.
const HEADERS = { ...API_RESPONSE_HEADERS, ...CORS_VARY_HEADERS };

const DETAIL: Record<number, string> = {
  400: 'The request could not be understood',
  408: 'The request took too long to arrive',
  414: 'The request URL is too long',
  431: 'The request headers are too large',
};

/**
 * Fastify's router refuses some URLs before any hook, filter or Nest code runs (a malformed
 * percent-encoding, an over-long path parameter), and by default answers with the URL pasted
 * into an `application/json` body. These get the usual problem instead.
 */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 500;
  sendEarlyProblem(request, reply, status);
}

/** Request URLs (path and query) longer than this are answered 414 before routing work. */
export const MAX_URL_LENGTH = 8192;

/**
 * A problem answered by a hook or by the router, before Nest: the request's URL stands in
 * `instance` only as far as the bound allows.
 */
export function sendEarlyProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
): void {
  const body = problem(status, { detail: DETAIL[status] ?? 'An unexpected error occurred' });
  body.instance = instanceOf(request.url.slice(0, 512));
  void reply
    .code(status)
    .headers({ ...HEADERS, 'x-request-id': request.id })
    .header('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
    .send(safeJsonStringify(body));
}

/**
 * Answers requests Node's HTTP parser refuses (malformed request line, oversized headers,
 * timeouts) before Fastify sees them, with a problem instead of Fastify's default body.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 408
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : 400;
  const body = safeJsonStringify(problem(status, { detail: DETAIL[status] }));
  if (socket.writable) {
    const headers = Object.entries({
      ...HEADERS,
      'Content-Type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8`,
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
    }).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers.join('')}\r\n${body}`);
  }
  socket.destroy(error);
}
