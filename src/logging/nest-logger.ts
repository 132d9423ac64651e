import type { LoggerService, LogLevel } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/** Nest's levels on pino's: `log` is info, `verbose` is trace. */
export const PINO_LEVEL_OF: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

// Nest's test for a stack trace passed to error(): "...\n    at file:line:column".
const STACK = /\n[ \t]+at .+:\d+:\d+/;

/**
 * Nest's Logger (framework messages and every `new Logger(context)` in the services) written
 * through the service's pino logger, so application events share the request lines' schema
 * and destination: `{ level, time, pid, context, message, stack? }`. LOG_LEVEL filters both,
 * and nothing is built for a level that is off. Arguments are read as Nest's ConsoleLogger
 * reads them: a trailing string is the context; for errors, the string before it is the
 * stack; plain objects after the message are fields of the line.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(nestLevel: LogLevel, message: unknown, params: unknown[]): void {
    const level = PINO_LEVEL_OF[nestLevel];
    if (!this.logger.isLevelEnabled(level)) return;
    const { messages, fields } = parseArguments(level === 'error' || level === 'fatal', [
      message,
      ...params,
    ]);
    for (const entry of messages) {
      if (entry instanceof Error) this.logger[level]({ ...fields, err: entry }, entry.message);
      else this.logger[level](fields, typeof entry === 'string' ? entry : stringify(entry));
    }
  }
}

/** Nest's Logger arguments as messages and the fields every one of their lines carries. */
export function parseArguments(
  isError: boolean,
  args: unknown[],
): { messages: unknown[]; fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  // error(message, stack) without a context.
  if (isError && args.length === 2 && (args[1] === undefined || isStack(args[1]))) {
    if (args[1] !== undefined) fields.stack = args[1];
    return { messages: [args[0]], fields };
  }
  const rest = [...args];
  if (rest.length > 1 && typeof rest.at(-1) === 'string') fields.context = rest.pop();
  const messages = [rest[0]];
  for (const arg of rest.slice(1)) {
    if (isPlainObject(arg)) Object.assign(fields, arg);
    else messages.push(arg);
  }
  if (isError && messages.length > 1) {
    const last = messages.at(-1);
    if (typeof last === 'string' || last === undefined) {
      messages.pop();
      if (last !== undefined) fields.stack = last;
    }
  }
  return { messages, fields };
}

function isStack(value: unknown): boolean {
  return typeof value === 'string' && STACK.test(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
