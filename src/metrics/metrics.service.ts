import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type LabelValues,
} from 'prom-client';

/** How a login attempt ended (SPEC §11). */
export type LoginOutcome =
  'success' | 'wrong_password' | 'unknown_name' | 'inactive' | 'locked' | 'rate_limited';

/** How a refresh-token rotation ended. */
export type RefreshOutcome = 'rotated' | 'reuse_detected' | 'invalid';

const LOGIN_OUTCOMES: readonly LoginOutcome[] = [
  'success',
  'wrong_password',
  'unknown_name',
  'inactive',
  'locked',
  'rate_limited',
];
const REFRESH_OUTCOMES: readonly RefreshOutcome[] = ['rotated', 'reuse_detected', 'invalid'];

/** How one delivery attempt of an outbox mail ended: sent, to be tried again, or given up. */
export type MailDeliveryOutcome = 'sent' | 'retried' | 'failed';

const MAIL_DELIVERY_OUTCOMES: readonly MailDeliveryOutcome[] = ['sent', 'retried', 'failed'];

/** Seconds; from a cached read (well under a millisecond) to a slow argon2 login. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

let processRegistry: Registry | undefined;

/**
 * Node's process metrics (prom-client's default collectors), once per process: they describe
 * the process, and each collection installs a GC observer and an event-loop monitor that are
 * never removed, so one per app would pile up in a process that makes many (the tests).
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** A reading taken at each scrape: one value per label set. */
export type Reading<L extends string> = ReadonlyArray<readonly [LabelValues<L>, number]>;

/**
 * The service's Prometheus metrics (prom-client), in a registry of its own per app (two apps in
 * one process, as in the tests, do not share counts), answered together with the process's. Features report what happens through the
 * methods here; what they already count themselves (cache lookups, the pool, the listener) is
 * read at scrape time through {@link gauge} and {@link counter}, so the request path pays for
 * nothing but the HTTP histogram (docs/decisions.md, "Metrics").
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly logins: Counter<'outcome'>;
  private readonly refreshes: Counter<'outcome'>;
  private readonly lockouts: Counter;
  private readonly rateLimitRejections: Counter<'limit'>;
  private readonly mailDeliveries: Counter<'outcome'>;

  private readonly process = processMetrics();

  constructor() {
    const registers = [this.registry];
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route template and status: latency in seconds (_count: requests)',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.logins = new Counter({
      name: 'identity_login_attempts_total',
      help: 'Login attempts (POST /auth/login, the password grant) by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.refreshes = new Counter({
      name: 'identity_refresh_total',
      help: 'Refresh-token rotations by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.lockouts = new Counter({
      name: 'identity_lockouts_total',
      help: 'Accounts locked after repeated failed logins',
      registers,
    });
    this.rateLimitRejections = new Counter({
      name: 'identity_rate_limit_rejections_total',
      help: 'Requests refused by a rate limit (429), by bucket: client ip or account',
      labelNames: ['limit'],
      registers,
    });
    this.mailDeliveries = new Counter({
      name: 'identity_mail_deliveries_total',
      help: 'Delivery attempts of outbox mails by outcome: sent, retried (a transient failure), failed (given up)',
      labelNames: ['outcome'],
      registers,
    });
    // Every outcome from the start, so a rate() over a fresh instance is 0, not missing.
    for (const outcome of LOGIN_OUTCOMES) this.logins.inc({ outcome }, 0);
    for (const outcome of REFRESH_OUTCOMES) this.refreshes.inc({ outcome }, 0);
    for (const limit of ['ip', 'account']) this.rateLimitRejections.inc({ limit }, 0);
    for (const outcome of MAIL_DELIVERY_OUTCOMES) this.mailDeliveries.inc({ outcome }, 0);
  }

  /** One finished HTTP request; `route` is the route's template, never the raw URL. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: statusCode }, seconds);
  }

  login(outcome: LoginOutcome): void {
    this.logins.inc({ outcome });
  }

  refresh(outcome: RefreshOutcome): void {
    this.refreshes.inc({ outcome });
  }

  lockout(): void {
    this.lockouts.inc();
  }

  rateLimited(limit: 'ip' | 'account'): void {
    this.rateLimitRejections.inc({ limit });
  }

  mailDelivery(outcome: MailDeliveryOutcome): void {
    this.mailDeliveries.inc({ outcome });
  }

  /** A gauge whose values `read` gives at each scrape (awaited when it is a promise). */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Reading<L> | Promise<Reading<L>>,
  ): void {
    const registers = [this.registry];
    new Gauge<L>({ name, help, labelNames, registers, collect: refill(read, 'set') });
  }

  /** A counter whose totals `read` gives at each scrape (a feature that counts for itself). */
  counter<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Reading<L>,
  ): void {
    const registers = [this.registry];
    new Counter<L>({ name, help, labelNames, registers, collect: refill(read, 'inc') });
  }

  /** The text exposition format: this app's metrics and the process's. */
  render(): Promise<string> {
    return Registry.merge([this.process, this.registry]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** A `collect` that replaces a metric's values with what `read` says now. */
function refill<L extends string>(
  read: () => Reading<L> | Promise<Reading<L>>,
  write: 'set' | 'inc',
): (this: Gauge<L> | Counter<L>) => void | Promise<void> {
  return function () {
    const fill = (reading: Reading<L>): void => {
      this.reset();
      for (const [labels, value] of reading) {
        if (write === 'set') (this as Gauge<L>).set(labels, value);
        else (this as Counter<L>).inc(labels, value);
      }
    };
    const reading = read();
    if (reading instanceof Promise) return reading.then(fill);
    fill(reading);
  };
}
