import { Metrics } from '../../metrics/metrics.service';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { AuthStateCache } from './auth-state.cache';
import { AuthStateRepository } from './auth-state.repository';
import { LocalWriteSubscriber } from './local-write.subscriber';
import { PostgresListener } from './postgres-listener';
import { SqliteVersion } from './sqlite-version';

export { AUTH_STATE_CHANNEL, LISTENER_APPLICATION_NAME } from './postgres-listener';

const UNTRUSTED = Promise.resolve(false);

/**
 * - `off`: nothing is cached (AUTH_CACHE_TTL=0, or the triggers are missing);
 * - `version`: SQLite, the cache is checked against the version row on every request;
 * - `listening`: PostgreSQL, notifications arrive: a heartbeat came back within the deadline;
 * - `interrupted`: PostgreSQL, the listening connection is down or its heartbeat is late:
 *   nothing is trusted until it listens again.
 */
export type AuthStateSignalStatus = 'off' | 'version' | 'listening' | 'interrupted';

const STATUSES: readonly AuthStateSignalStatus[] = ['off', 'version', 'listening', 'interrupted'];

/**
 * Tells the auth-state cache when the database changed, and whether it may be used at all: on
 * only with AUTH_CACHE_TTL > 0 and every trigger in place; then SQLite's version row
 * (sqlite-version.ts), or PostgreSQL's listener while fresh (postgres-listener.ts) plus this
 * instance's own writes at commit (local-write.subscriber.ts). docs/decisions.md, "Auth-state
 * cache".
 */
@Injectable()
export class AuthStateSignals implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuthStateSignals.name);
  private triggersPresent = false;
  private sqlite?: SqliteVersion;
  private postgres?: PostgresListener;
  private statusWaiters: Array<() => void> = [];
  private pendingCheck?: Promise<boolean>;

  constructor(
    private readonly repository: AuthStateRepository,
    private readonly cache: AuthStateCache,
    private readonly config: AppConfig,
    metrics: Metrics,
  ) {
    metrics.gauge(
      'identity_auth_state_signal',
      'How the auth-state cache learns of changes (1 for the current status): off, version ' +
        '(SQLite), listening or interrupted (PostgreSQL notifications)',
      ['status'],
      () => STATUSES.map((status) => [{ status }, status === this.status ? 1 : 0] as const),
    );
    metrics.gauge(
      'identity_auth_state_listener_connected',
      'PostgreSQL: 1 while the auth-state listener receives notifications in time, else 0',
      [],
      () => (this.postgres === undefined ? [] : [[{}, this.status === 'listening' ? 1 : 0]]),
    );
  }

  async onModuleInit(): Promise<void> {
    if (!this.cache.enabled) return;
    this.triggersPresent = await this.repository.triggersPresent();
    if (!this.triggersPresent) {
      this.logger.error(
        'Auth-state triggers are missing (migrations 1764000000006, 1764000000009): the auth-state cache is off, every request reads the database',
      );
      return;
    }
    const { database } = this.config;
    if (!('url' in database)) {
      this.sqlite = new SqliteVersion(this.repository.versionReader(), this.cache, this.logger);
      return;
    }
    this.repository.onLocalWrites(new LocalWriteSubscriber(this.cache));
    const { heartbeatMs, heartbeatDeadlineMs } = this.config.authCache;
    this.postgres = new PostgresListener(
      { url: database.url, heartbeatMs, deadlineMs: heartbeatDeadlineMs },
      this.cache,
      this.logger,
      () => this.statusChanged(),
    );
    await this.postgres.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.postgres?.stop();
  }

  get status(): AuthStateSignalStatus {
    if (!this.triggersPresent) return 'off';
    if (this.sqlite !== undefined) return 'version';
    return this.fresh() ? 'listening' : 'interrupted';
  }

  /** Resolves at the next change of `status` (for health reporting and tests). */
  nextStatusChange(): Promise<void> {
    return new Promise((resolve) => this.statusWaiters.push(resolve));
  }

  /**
   * Whether the cache may answer the request that asks. The requests of one event-loop turn are
   * answered together in its check phase: on SQLite by one version read made after they all asked,
   * on PostgreSQL by the listener's freshness (no database work). Answering together also batches
   * the turn's responses (docs/decisions.md, "Auth-state cache").
   */
  trusted(): Promise<boolean> {
    if (!this.triggersPresent) return UNTRUSTED;
    this.pendingCheck ??= new Promise((resolve) => {
      setImmediate(() => {
        this.pendingCheck = undefined;
        resolve(this.sqlite?.unchangedOrCleared() ?? this.fresh());
      });
    });
    return this.pendingCheck;
  }

  /**
   * Whether what was just read from the database may be kept. On SQLite, yes: a change after
   * the read moves the version, which the next request's check sees. On PostgreSQL only while
   * notifications arrive (AuthStateCache's tickets refuse what a notification overtook).
   */
  mayStore(): boolean {
    if (!this.triggersPresent) return false;
    return this.sqlite !== undefined || this.fresh();
  }

  /**
   * Resolves once every change committed before the call has reached this instance (PostgreSQL:
   * a heartbeat sent now comes back after all earlier notifications). For changes made behind
   * the service's back, e.g. in SQL. Immediate on SQLite, where nothing is in flight.
   */
  async settle(): Promise<void> {
    await this.postgres?.settle();
  }

  /** PostgreSQL: notifications arrive (postgres-listener.ts). */
  private fresh(): boolean {
    return this.postgres?.fresh() ?? false;
  }

  private statusChanged(): void {
    const waiters = this.statusWaiters;
    this.statusWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
