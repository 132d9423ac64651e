import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { requestLogEntry } from './request-line';

export type { Logger } from 'pino';

/**
 * The service's one logger: JSON lines of one shape (`level` by name, `time`, `pid`, then the
 * fields, then `message`) for request lines, Fastify's own lines and application events alike.
 * Nothing with headers is ever logged: the `req` serializer keeps method, path and ip only.
 */
export function createLogger(level: AppConfig['logLevel'], destination: DestinationStream): Logger {
  return pino(
    {
      level,
      messageKey: 'message',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { req: requestLogEntry, err: pino.stdSerializers.err },
    },
    destination,
  );
}

// Lines are written once 4 KiB have gathered (about 15 request lines) or after a second:
// each write goes through the threadpool and costs about as much as serialising a line, so
// one write per line would double the cost of logging (docs/decisions.md, "Request logging").
const BATCH_BYTES = 4096;
const FLUSH_INTERVAL_MS = 1000;

/**
 * stdout, written asynchronously in batches off the request path (sonic-boom). pino flushes
 * what is left synchronously when the process exits, which is why main.ts ends a signalled
 * shutdown with process.exit.
 */
export function asyncStdout(): DestinationStream {
  return pino.destination({
    dest: 1,
    sync: false,
    minLength: BATCH_BYTES,
    periodicFlush: FLUSH_INTERVAL_MS,
  });
}
