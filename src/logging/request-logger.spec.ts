import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from './logger';
import { RequestLogger } from './request-logger';

function capture(level: 'info' | 'warn') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger(level, destination), lines };
}

describe('RequestLogger (request.log)', () => {
  it('makes no child until something is logged, then writes with the request id', () => {
    const { logger, lines } = capture('info');
    const log = new RequestLogger(logger, { requestId: 'r-1' }, {});
    assert.equal(log.created, false);
    assert.equal(log.level, 'info');
    (log as unknown as { error(object: object, message: string): void }).error(
      { status: 500 },
      'request errored',
    );
    assert.equal(log.created, true);
    assert.deepEqual(
      lines.map(({ requestId, status, message, level }) => ({ requestId, status, message, level })),
      [{ requestId: 'r-1', status: 500, message: 'request errored', level: 'error' }],
    );
  });

  it('makes nothing for a line below the level, and writes nothing', () => {
    const { logger, lines } = capture('warn');
    const log = new RequestLogger(logger, { requestId: 'r-2' }, {}) as unknown as {
      info(message: string): void;
      created: boolean;
    };
    log.info('not written');
    assert.equal(log.created, false);
    assert.deepEqual(lines, []);
  });

  it("honours a route's own level", () => {
    const { logger, lines } = capture('warn');
    const log = new RequestLogger(logger, { requestId: 'r-3' }, { level: 'debug' });
    assert.equal(log.level, 'debug');
    (log as unknown as { debug(message: string): void }).debug('written at debug');
    assert.equal(lines[0]?.requestId, 'r-3');
    assert.equal(lines[0]?.message, 'written at debug');
  });
});
