import {
  HttpException,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Clock } from '../common/clock/clock';
import { DomainError, PROBLEM_TYPES } from '../common/errors/domain-error';
import { OAuthError } from '../common/errors/oauth-error';
import { Transactions } from '../database/database';
import type { AuditEventType } from './audit-event-type';
import { AuditService, NewAuditEvent } from './audit.service';
import {
  observeRefusals,
  type RefusalObserver,
  type RefusedRequest,
} from '../common/http/refusals';
import { clientText } from '../common/client-text';

/** Length of one aggregation window: one event per key per window. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Distinct keys kept per window; refusals beyond them are only counted (one event). */
export const REFUSAL_MAX_KEYS = 1000;
// Events written per transaction when a window is flushed (the chain's lock is held per commit).
const FLUSH_BATCH = 100;

const TYPE_BY_STATUS: Record<number, AuditEventType> = {
  401: 'access.unauthenticated',
  403: 'access.forbidden',
  429: 'access.rate_limited',
};

interface Tally {
  type: AuditEventType;
  status: number;
  reason: string;
  ip: string | null;
  route: string | null;
  userId: string | null;
  count: number;
}

interface Window {
  start: Date;
  tallies: Map<string, Tally>;
  overflow: number;
}

/**
 * Refused requests (401 invalid, revoked or missing token, 403, 429) as audit events,
 * aggregated: one event per (type, reason, ip, route, user) per minute with a count, at most
 * REFUSAL_MAX_KEYS per minute plus one `access.refusals_dropped` counting the rest. A flood of
 * refusals therefore adds a bounded number of events, and a failing write never fails a request.
 */
@Injectable()
export class RefusalAudit implements RefusalObserver, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RefusalAudit.name);

  private window: Window | undefined;

  private timer: NodeJS.Timeout | undefined;

  private flushing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly adapterHost: HttpAdapterHost,
    private readonly transactions: Transactions,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getInstance<object>();
    if (server !== undefined) observeRefusals(server, this);
    this.timer = setInterval(() => void this.flushDue(), REFUSAL_WINDOW_MS / 4);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Counts one refusal, if `exception` is one. Never throws. */
  observe(request: RefusedRequest, exception: unknown): void {
    try {
      const refusal = classify(exception);
      if (refusal === undefined) return;
      const now = this.clock.now();
      if (
        this.window !== undefined &&
        now.getTime() - this.window.start.getTime() >= REFUSAL_WINDOW_MS
      ) {
        void this.flushDue();
      }
      this.window ??= { start: now, tallies: new Map(), overflow: 0 };
      const userId = userIdOf(request.user);
      const ip = clientText(request.ip, 64);
      const route = clientText(request.routeOptions?.url, 128);
      const key = [refusal.status, refusal.reason, ip, route, userId].join('\u0000');
      const tally = this.window.tallies.get(key);
      if (tally !== undefined) tally.count += 1;
      else if (this.window.tallies.size >= REFUSAL_MAX_KEYS) this.window.overflow += 1;
      else {
        this.window.tallies.set(key, {
          type: TYPE_BY_STATUS[refusal.status] ?? 'access.unauthenticated',
          status: refusal.status,
          reason: refusal.reason,
          ip,
          route,
          userId,
          count: 1,
        });
      }
    } catch (error) {
      this.logger.warn(
        `Refusal not counted: ${String(error)}`,
        request.id === undefined ? {} : { requestId: request.id },
      );
    }
  }

  /** Writes the current window if it has ended by the clock. */
  flushDue(): Promise<void> {
    const window = this.window;
    if (window === undefined) return this.flushing.then(() => undefined);
    if (this.clock.now().getTime() - window.start.getTime() < REFUSAL_WINDOW_MS) {
      return this.flushing.then(() => undefined);
    }
    return this.flush();
  }

  /** Ends the current window now and writes it (shutdown, tests). Never throws. */
  flush(): Promise<void> {
    const window = this.window;
    this.window = undefined;
    const write = this.flushing.then(() => (window === undefined ? undefined : this.write(window)));
    this.flushing = write;
    return write;
  }

  private async write(window: Window): Promise<void> {
    const end = this.clock.now();
    const span = { from: window.start.toISOString(), to: end.toISOString() };
    const events: Array<{ event: NewAuditEvent; ip: string | null }> = [];
    for (const tally of window.tallies.values()) {
      events.push({
        event: {
          type: tally.type,
          actorId: tally.userId,
          subjectUserId: null,
          details: {
            status: tally.status,
            reason: tally.reason,
            route: tally.route,
            count: tally.count,
            ...span,
          },
        },
        ip: tally.ip,
      });
    }
    if (window.overflow > 0) {
      events.push({
        event: {
          type: 'access.refusals_dropped',
          actorId: null,
          subjectUserId: null,
          details: { count: window.overflow, distinctKeysKept: REFUSAL_MAX_KEYS, ...span },
        },
        ip: null,
      });
    }
    try {
      for (let index = 0; index < events.length; index += FLUSH_BATCH) {
        const batch = events.slice(index, index + FLUSH_BATCH);
        await this.transactions.run(async (tx) => {
          for (const { event, ip } of batch) {
            await this.audit.record(tx, event, { ip, userAgent: null, requestId: null });
          }
        });
      }
    } catch (error) {
      // An outage loses these counts, not a request: log what was lost.
      this.logger.error(
        `${events.length} aggregated refusal events not written: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

function classify(exception: unknown): { status: number; reason: string } | undefined {
  let status: number | undefined;
  let reason: string;
  if (exception instanceof DomainError) {
    status = PROBLEM_TYPES[exception.code].status;
    reason = exception.code;
  } else if (exception instanceof OAuthError) {
    status = exception.status;
    reason = exception.error;
  } else if (exception instanceof HttpException) {
    status = exception.getStatus();
    reason = `http_${status}`;
  } else {
    return undefined;
  }
  return TYPE_BY_STATUS[status] === undefined ? undefined : { status, reason };
}

function userIdOf(user: unknown): string | null {
  const id = (user as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id.toLowerCase() : null;
}
