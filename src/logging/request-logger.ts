import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * `request.log` and `reply.log` of one request: pino's child with the request id, made the first
 * time something logs through it at an enabled level. Fastify makes one for every request, but
 * the request line is written by RequestLogController with the service's logger and only errors
 * use the child, so making it eagerly (serialising its bindings) cost every request about 2 µs
 * for a line almost no request writes (docs/decisions.md, "Request logging").
 */
export class RequestLogger {
  private made?: Logger;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** Whether the child exists yet (tests). */
  get created(): boolean {
    return this.made !== undefined;
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger().child(bindings, options);
  }

  silent(): void {}

  private logger(): Logger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  static {
    for (const level of LEVELS) {
      Object.defineProperty(RequestLogger.prototype, level, {
        value: function (this: RequestLogger, ...args: unknown[]): void {
          // Below the service's level nothing would be written, so nothing is made.
          const skipped =
            this.made === undefined &&
            this.options.level === undefined &&
            !this.parent.isLevelEnabled(level);
          if (skipped) return;
          const write: (...logged: unknown[]) => void = this.logger()[level].bind(this.made);
          write(...args);
        },
      });
    }
  }
}

/** Fastify's `childLoggerFactory`: a {@link RequestLogger} per request. */
export const requestLoggers: NonNullable<FastifyServerOptions['childLoggerFactory']> = function (
  logger,
  bindings,
  options,
) {
  return new RequestLogger(logger as Logger, bindings, options) as unknown as FastifyBaseLogger;
};
