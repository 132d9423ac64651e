import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from './logger';
import { PinoNestLogger } from './nest-logger';

function nestLogger(level: 'info' | 'debug' | 'trace') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, {
    write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger: new PinoNestLogger(logger), lines };
}

const STACK = 'Error: boom\n    at thing (/app/dist/src/x.js:1:2)';

describe('PinoNestLogger', () => {
  it('writes Nest messages in the request lines’ shape, with their context', () => {
    const { logger, lines } = nestLogger('info');
    logger.warn('RATE_LIMIT_ENABLED: insecure value accepted', 'Configuration');
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.deepEqual(
      { ...line, time: typeof line?.time, pid: typeof line?.pid },
      {
        level: 'warn',
        time: 'string',
        pid: 'number',
        context: 'Configuration',
        message: 'RATE_LIMIT_ENABLED: insecure value accepted',
      },
    );
  });

  it('maps log to info and verbose to trace, and LOG_LEVEL filters them', () => {
    const info = nestLogger('info');
    info.logger.log('kept', 'Ctx');
    info.logger.debug('dropped', 'Ctx');
    info.logger.verbose('dropped', 'Ctx');
    assert.deepEqual(
      info.lines.map((line) => [line.level, line.message]),
      [['info', 'kept']],
    );
    const trace = nestLogger('trace');
    trace.logger.verbose('kept', 'Ctx');
    assert.deepEqual(
      trace.lines.map((line) => [line.level, line.message]),
      [['trace', 'kept']],
    );
  });

  it('builds nothing for a level that is off', () => {
    const { logger, lines } = nestLogger('info');
    const untouchable = {
      toJSON: () => assert.fail('serialised a message that is not written'),
    };
    logger.debug(untouchable, 'Ctx');
    assert.equal(lines.length, 0);
  });

  it('reads error(message, stack, context) as Nest does', () => {
    const { logger, lines } = nestLogger('info');
    logger.error('Unhandled error', STACK, 'ExceptionFilter');
    logger.error('Without context', STACK);
    logger.error('No stack', undefined, 'Ctx');
    assert.deepEqual(
      lines.map(({ message, context, stack }) => ({ message, context, stack })),
      [
        { message: 'Unhandled error', context: 'ExceptionFilter', stack: STACK },
        { message: 'Without context', context: undefined, stack: STACK },
        { message: 'No stack', context: 'Ctx', stack: undefined },
      ],
    );
  });

  it('writes an Error with its stack, and a plain object after the message as fields', () => {
    const { logger, lines } = nestLogger('info');
    logger.error(new Error('kaput'), 'Ctx');
    logger.log('started', { port: 3000 }, 'Ctx');
    assert.equal(lines[0]?.message, 'kaput');
    assert.match(String((lines[0]?.err as { stack?: unknown }).stack), /^Error: kaput\n/);
    assert.equal(lines[1]?.message, 'started');
    assert.equal(lines[1]?.port, 3000);
    assert.equal(lines[1]?.context, 'Ctx');
  });
});
