import { QueryFailedError } from 'typeorm';

/** Seconds a client is told to wait before retrying after an infrastructure failure. */
export const RETRY_AFTER_SECONDS = 5;

// Socket errors of the connection to PostgreSQL or Redis.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// node-postgres and pg-pool raise these as plain Errors, without a code.
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'Query read timeout',
];

// ioredis, when Redis is away and commands are not queued.
const REDIS_CONNECTION_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
];

// better-sqlite3: the file is locked for longer than the busy timeout, or the disk failed.
const SQLITE_CODE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|READONLY)(_|$)/;

/**
 * Whether `error` says the database (or Redis) could not be reached or serve, rather than anything
 * about the request: connection and pool errors, PostgreSQL classes 08 and 53 and 57P01-57P05,
 * SQLite busy or I/O errors. Such a failure is a 503 with Retry-After, never a 401 or a 500
 * (docs/decisions.md, "Infrastructure failures: 503 with Retry-After, never 401").
 */
export function isInfrastructureFailure(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  // TypeORM wraps the driver's error; Nest and others keep the original as `cause`.
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (failedItself(current)) return true;
    current =
      current instanceof QueryFailedError
        ? (current.driverError as unknown)
        : (current as { cause?: unknown }).cause;
  }
  return false;
}

function failedItself(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (/^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[1-5]$/.test(code)) return true;
    if (SQLITE_CODE.test(code)) return true;
  }
  if (error.name === 'AggregateError') {
    // net.connect to a host with several addresses: one error per address.
    return (error as AggregateError).errors.some((inner) => isInfrastructureFailure(inner));
  }
  return [...PG_CONNECTION_MESSAGES, ...REDIS_CONNECTION_MESSAGES].some((message) =>
    error.message.startsWith(message),
  );
}
