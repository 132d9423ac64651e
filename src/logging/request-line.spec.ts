import type { FastifyReply, FastifyRequest } from 'fastify';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from './logger';
import { RequestLogController, requestLine, requestLogEntry } from './request-line';

function memoryLogger(level: 'info' | 'warn') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, {
    write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
}

const request = {
  id: 'r1',
  method: 'GET',
  url: '/api/v1/users/me?access_token=secret-token',
  ip: '127.0.0.1',
  headers: { authorization: 'Bearer secret-bearer', cookie: 'refresh_token=secret-cookie' },
};

describe('request line', () => {
  it('keeps the path and drops the query string and headers', () => {
    const line = requestLine(request, 200, 1.23456);
    assert.deepEqual(line, {
      requestId: 'r1',
      method: 'GET',
      path: '/api/v1/users/me',
      status: 200,
      durationMs: 1.23,
      ip: '127.0.0.1',
    });
    assert.doesNotMatch(JSON.stringify(line), /secret/);
  });

  it("names the matched route's template, and none when no route matched", () => {
    const routed = {
      ...request,
      url: '/api/v1/users/42',
      routeOptions: { url: '/api/v1/users/:id' },
    };
    assert.equal(requestLine(routed, 403, 1).route, '/api/v1/users/:id');
    assert.equal(requestLine(routed, 403, 1).path, '/api/v1/users/42');
    assert.equal('route' in requestLine({ ...request, routeOptions: {} }, 404, 1), false);
  });

  it('names the user once a guard has authenticated the request', () => {
    const line = requestLine({ ...request, user: { id: 'u1', username: 'ada' } }, 200, 1);
    assert.equal(line.userId, 'u1');
    assert.equal(requestLine({ ...request, user: undefined }, 401, 1).userId, undefined);
  });

  it('shows a request elsewhere without headers or query', () => {
    assert.deepEqual(requestLogEntry(request), {
      method: 'GET',
      path: '/api/v1/users/me',
      ip: '127.0.0.1',
    });
  });
});

describe('RequestLogController', () => {
  const reply = { statusCode: 204, elapsedTime: 2.5 } as FastifyReply;

  it('writes one line when the response is sent and none when the request arrives', () => {
    const { logger, lines } = memoryLogger('info');
    const controller = new RequestLogController(logger);
    controller.incomingRequest();
    controller.requestCompleted(null, request as unknown as FastifyRequest, reply);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { ...lines[0], time: typeof lines[0]?.time, pid: typeof lines[0]?.pid },
      {
        level: 'info',
        time: 'string',
        pid: 'number',
        requestId: 'r1',
        method: 'GET',
        path: '/api/v1/users/me',
        status: 204,
        durationMs: 2.5,
        ip: '127.0.0.1',
        message: 'request completed',
      },
    );
  });

  it('reads nothing of the request when request lines are off (LOG_LEVEL=warn)', () => {
    const { logger, lines } = memoryLogger('warn');
    const untouchable = new Proxy(request, {
      get: () => assert.fail('the request was read for a line that is not written'),
    });
    new RequestLogController(logger).requestCompleted(
      null,
      untouchable as unknown as FastifyRequest,
      reply,
    );
    assert.equal(lines.length, 0);
  });

  it('logs a response that failed while sending as an error, with the error', () => {
    const { logger, lines } = memoryLogger('warn');
    new RequestLogController(logger).requestCompleted(
      new Error('socket hang up'),
      request as unknown as FastifyRequest,
      reply,
    );
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'error');
    assert.equal(lines[0]?.requestId, 'r1');
    assert.equal((lines[0]?.err as { message?: unknown }).message, 'socket hang up');
  });
});
