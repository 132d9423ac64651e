import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type Notification } from 'pg';
import type {
  DataSource,
  EntitySubscriberInterface,
  InsertEvent,
  QueryRunner,
  RemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm';
import { AppConfig } from '../config/app-config';
import { Role } from '../users/entities/role.entity';
import { UserRole } from '../users/entities/user-role.entity';
import { User } from '../users/entities/user.entity';
import { AuthStateCache } from './auth-state.cache';
import { Session } from '../sessions/session.entity';

/** The channel migration 1764000000006 notifies on (PostgreSQL). */
export const AUTH_STATE_CHANNEL = 'identity_auth_state';

/** The application name of the listening connection (pg_stat_activity shows it). */
export const LISTENER_APPLICATION_NAME = 'identity-auth-state-listener';

/**
 * The triggers migrations 1764000000006 and 1764000000009 create; without all of them nothing
 * may be cached.
 */
const POSTGRES_TRIGGERS = [
  'TRG_users_auth_state_update',
  'TRG_users_auth_state_delete',
  'TRG_sessions_auth_state_update',
  'TRG_sessions_auth_state_delete',
  'TRG_users_to_roles_auth_state',
  'TRG_roles_auth_state',
  'TRG_sessions_auth_state_idle',
  'TRG_users_auth_state_truncate',
  'TRG_sessions_auth_state_truncate',
  'TRG_users_to_roles_auth_state_truncate',
  'TRG_roles_auth_state_truncate',
];
const SQLITE_TRIGGERS = [
  'TRG_users_auth_state_update',
  'TRG_users_auth_state_delete',
  'TRG_sessions_auth_state_update',
  'TRG_sessions_auth_state_delete',
  'TRG_users_to_roles_auth_state_insert',
  'TRG_users_to_roles_auth_state_update',
  'TRG_users_to_roles_auth_state_delete',
  'TRG_roles_auth_state_update',
  'TRG_roles_auth_state_delete',
  'TRG_sessions_auth_state_idle',
];

const UNTRUSTED = Promise.resolve(false);

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 30_000;
const SETTLE_TIMEOUT_MS = 5_000;
// The kernel's own probe of an idle listening socket; the heartbeat notices much sooner.
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/**
 * - `off`: nothing is cached (AUTH_CACHE_TTL=0, or the triggers are missing);
 * - `version`: SQLite, the cache is checked against the version row on every request;
 * - `listening`: PostgreSQL, notifications arrive: a heartbeat came back within the deadline;
 * - `interrupted`: PostgreSQL, the listening connection is down or its heartbeat is late:
 *   nothing is trusted until it listens again.
 */
export type AuthStateSignalStatus = 'off' | 'version' | 'listening' | 'interrupted';

interface SqliteStatement {
  pluck(): SqliteStatement;
  get(): unknown;
}

/**
 * Tells the auth-state cache when the database changed, and whether it may be trusted at all
 * (docs/decisions.md, "Auth-state cache"). The database itself reports changes, through the
 * triggers of migration 1764000000006, so every way of changing it counts.
 *
 * - SQLite: `trusted()` reads the trigger-maintained version (one small synchronous statement,
 *   shared by the requests of one event-loop turn) and empties the cache when it moved. Every
 *   process on the file sees every change on its next request.
 * - PostgreSQL: a dedicated connection LISTENs on the triggers' channel; each notification
 *   drops the user or session it names, on every instance. This instance's own writes also
 *   drop what they touch right after their commit (a TypeORM subscriber), so its next request
 *   never waits for the notification. While the listening connection is down, nothing is
 *   trusted: every request reads the database until it is back.
 * - PostgreSQL heartbeat: a connection can also die silently (a half-open TCP link: no reset,
 *   nothing arrives). Every `heartbeatMs` the instance notifies `hb:<nonce>` on its listening
 *   connection and waits for it to come back there: memory is trusted only while a heartbeat sent less than
 *   `deadlineMs` ago has come back, which proves that every change committed before it was
 *   sent has arrived. Past the deadline the listener is torn down and reconnected.
 */
@Injectable()
export class AuthStateSignals implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuthStateSignals.name);
  private triggersPresent = false;
  private sqliteVersion?: SqliteStatement;
  private lastVersion: unknown = undefined;
  private client?: Client;
  private socket?: Socket;
  private listening = false;
  private stopping = false;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private interrupted = false;
  private reconnectTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private heartbeatInFlight = false;
  /** performance.now() when the newest heartbeat that came back was sent. */
  private confirmedSentAt = Number.NEGATIVE_INFINITY;
  private readonly heartbeatPrefix = `hb:${randomBytes(6).toString('hex')}:`;
  private heartbeatSequence = 0;
  /** Heartbeats in flight: payload → when it was sent, and who waits for it. */
  private readonly inFlight = new Map<string, { sentAt: number; arrived: () => void }>();
  private statusWaiters: Array<() => void> = [];
  private pendingCheck?: Promise<boolean>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: AuthStateCache,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.cache.enabled) return;
    this.triggersPresent = await this.checkTriggers();
    if (!this.triggersPresent) {
      this.logger.error(
        'Auth-state triggers are missing (migrations 1764000000006, 1764000000009): the auth-state cache is off, every request reads the database',
      );
      return;
    }
    if (this.config.database.kind === 'sqlite') {
      const connection = (
        this.dataSource.driver as unknown as {
          databaseConnection: { prepare(sql: string): SqliteStatement };
        }
      ).databaseConnection;
      this.sqliteVersion = connection
        .prepare('SELECT "version" FROM "auth_state_version" WHERE "id" = 1')
        .pluck();
      return;
    }
    this.dataSource.subscribers.push(new LocalWriteSubscriber(this.cache));
    await this.listen();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    this.listening = false;
    const client = this.client;
    const socket = this.socket;
    this.client = undefined;
    this.socket = undefined;
    if (client !== undefined) {
      // A polite goodbye, without waiting on a link that went silent.
      await Promise.race([
        client.end().catch(() => undefined),
        sleep(this.config.authCache.heartbeatDeadlineMs, undefined, { ref: false }),
      ]);
    }
    socket?.destroy();
  }

  get status(): AuthStateSignalStatus {
    if (!this.triggersPresent) return 'off';
    if (this.sqliteVersion !== undefined) return 'version';
    return this.fresh() ? 'listening' : 'interrupted';
  }

  /** Resolves at the next change of `status` (for health reporting and tests). */
  nextStatusChange(): Promise<void> {
    return new Promise((resolve) => this.statusWaiters.push(resolve));
  }

  /**
   * Whether the cache may answer the request that asks. The requests that ask within one turn
   * of the event loop are answered together, in its check phase (`setImmediate`), after all of
   * them asked:
   *
   * - SQLite: this is where a change made since the last check (by any process) empties the
   *   cache. The version row is read once for all of them, so a busy instance reads it once
   *   per loop turn instead of once per request; each request still gets a read made after it
   *   asked, so any change committed before it arrived is seen.
   * - PostgreSQL: whether notifications arrive, at the time of the check: the listener is
   *   connected and a heartbeat sent less than the deadline ago has come back (a comparison of
   *   two numbers; no database work).
   *
   * Answering together also batches the responses: they are written one after the other at the
   * end of the turn instead of one between each two reads, which cost a third less CPU per
   * cached request under load on both databases (docs/benchmarks.md). A request waits at most
   * until the requests read in the same turn have been parsed.
   */
  trusted(): Promise<boolean> {
    if (!this.triggersPresent) return UNTRUSTED;
    this.pendingCheck ??= new Promise((resolve) => {
      setImmediate(() => {
        this.pendingCheck = undefined;
        resolve(this.sqliteVersion === undefined ? this.fresh() : this.versionUnchangedOrCleared());
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
    return this.sqliteVersion !== undefined || this.fresh();
  }

  /**
   * PostgreSQL: the listener is connected and the newest heartbeat that came back was sent
   * less than the deadline ago. Monotonic real time, not the injectable Clock: this measures
   * the network, not the time tokens are judged at.
   */
  private fresh(): boolean {
    return (
      this.listening &&
      performance.now() - this.confirmedSentAt < this.config.authCache.heartbeatDeadlineMs
    );
  }

  /** SQLite: reads the version; empties the cache when it moved. False if it cannot be read. */
  private versionUnchangedOrCleared(): boolean {
    let version: unknown;
    try {
      version = this.sqliteVersion?.get();
    } catch (error) {
      this.logger.error(
        `Auth-state version could not be read (${error instanceof Error ? error.message : String(error)}): this request reads the database`,
      );
      this.cache.invalidateAll();
      this.lastVersion = undefined;
      return false;
    }
    if (version !== this.lastVersion) {
      this.cache.invalidateAll();
      this.lastVersion = version;
    }
    return true;
  }

  /**
   * Resolves once every change committed before the call has reached this instance (PostgreSQL:
   * a heartbeat sent now comes back after all earlier notifications). For changes made behind
   * the service's back, e.g. in SQL. Immediate on SQLite, where nothing is in flight.
   */
  async settle(): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.listening) return;
    await this.roundTrip(client, SETTLE_TIMEOUT_MS);
  }

  /**
   * Notifies a heartbeat on the listening connection and resolves when it has come back,
   * which also moves `confirmedSentAt`; rejects after `timeoutMs`.
   */
  private async roundTrip(client: Client, timeoutMs: number): Promise<void> {
    this.heartbeatSequence += 1;
    const payload = `${this.heartbeatPrefix}${this.heartbeatSequence}`;
    const sentAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        this.inFlight.delete(payload);
        reject(new Error(`the auth-state heartbeat did not come back within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.inFlight.set(payload, { sentAt, arrived: resolve });
    });
    try {
      // Sent on the listening connection itself, not through the pool: a notification is
      // delivered after every one committed before it whichever connection sends it, and a
      // pool saturated by load must not make a healthy listener look dead (readiness would
      // pull a busy instance). A half-open link loses the query or its answer: the deadline
      // ends the wait either way.
      await Promise.all([
        client.query('SELECT pg_notify($1, $2)', [AUTH_STATE_CHANNEL, payload]),
        arrived,
      ]);
    } catch (error) {
      this.inFlight.delete(payload);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private startHeartbeat(client: Client): void {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      if (this.client !== client || this.heartbeatInFlight) return;
      this.heartbeatInFlight = true;
      this.roundTrip(client, this.config.authCache.heartbeatDeadlineMs)
        .catch(() => undefined)
        .finally(() => {
          this.heartbeatInFlight = false;
        });
    }, this.config.authCache.heartbeatMs);
    this.heartbeatTimer.unref();
    this.armDeadline(client);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.deadlineTimer);
    this.heartbeatTimer = undefined;
    this.deadlineTimer = undefined;
    this.heartbeatInFlight = false;
  }

  /** When no newer heartbeat has come back by the deadline, the listener is given up. */
  private armDeadline(client: Client): void {
    clearTimeout(this.deadlineTimer);
    const deadlineMs = this.config.authCache.heartbeatDeadlineMs;
    const remaining = this.confirmedSentAt + deadlineMs - performance.now();
    this.deadlineTimer = setTimeout(
      () => {
        if (this.client !== client) return;
        if (performance.now() - this.confirmedSentAt < deadlineMs) {
          this.armDeadline(client);
          return;
        }
        this.lost(client, new Error(`no heartbeat came back within ${deadlineMs} ms`));
      },
      Math.max(0, remaining),
    );
    this.deadlineTimer.unref();
  }

  private async checkTriggers(): Promise<boolean> {
    const expected = this.config.database.kind === 'sqlite' ? SQLITE_TRIGGERS : POSTGRES_TRIGGERS;
    const rows: Array<{ name: string }> =
      this.config.database.kind === 'sqlite'
        ? await this.dataSource.query(
            `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'TRG\\_%auth\\_state%' ESCAPE '\\'`,
          )
        : await this.dataSource.query(
            `SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'TRG\\_%auth\\_state%'`,
          );
    const present = new Set(rows.map((row) => row.name));
    return expected.every((name) => present.has(name));
  }

  private async listen(): Promise<void> {
    if (this.config.database.kind !== 'postgres') return;
    const deadlineMs = this.config.authCache.heartbeatDeadlineMs;
    // Our own socket, so that a connection that went silent can be destroyed at once (a polite
    // end would wait for an answer that never comes).
    const socket = new Socket();
    const client = new Client({
      connectionString: this.config.database.url,
      application_name: LISTENER_APPLICATION_NAME,
      stream: () => socket,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
      connectionTimeoutMillis: deadlineMs,
      query_timeout: deadlineMs,
    });
    client.on('notification', (message: Notification) => this.onNotification(message.payload));
    client.on('error', (error: Error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    this.client = client;
    this.socket = socket;
    try {
      await client.connect();
      await client.query(`LISTEN ${AUTH_STATE_CHANNEL}`);
      // Listening is not enough: the whole path, commit to this connection, must work.
      await this.roundTrip(client, deadlineMs);
    } catch (error) {
      this.lost(client, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.client !== client) return;
    // Anything may have changed while nobody listened.
    this.cache.invalidateAll();
    this.startHeartbeat(client);
    this.setListening(true);
    if (this.interrupted) {
      this.logger.log('Auth-state notifications are back: the auth-state cache is in use again');
    }
    this.interrupted = false;
    this.reconnectDelayMs = RECONNECT_MIN_MS;
  }

  private lost(client: Client, error?: Error): void {
    if (this.client !== client) return;
    const socket = this.socket;
    this.client = undefined;
    this.socket = undefined;
    this.stopHeartbeat();
    this.confirmedSentAt = Number.NEGATIVE_INFINITY;
    this.setListening(false);
    this.cache.invalidateAll();
    socket?.destroy();
    void client.end().catch(() => undefined);
    if (this.stopping) return;
    if (!this.interrupted) {
      // Once per interruption, not once per failed reconnection.
      this.logger.warn(
        `Auth-state notifications interrupted${error ? ` (${error.message})` : ''}: every request reads the database until they are back`,
      );
    }
    this.interrupted = true;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(RECONNECT_MAX_MS, delay * 2);
    this.reconnectTimer = setTimeout(() => void this.listen(), delay);
    this.reconnectTimer.unref();
  }

  private setListening(listening: boolean): void {
    if (this.listening === listening) return;
    this.listening = listening;
    const waiters = this.statusWaiters;
    this.statusWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private onNotification(payload: string | undefined): void {
    if (payload === undefined || payload === '*') {
      this.cache.invalidateAll();
      return;
    }
    const separator = payload.indexOf(':');
    const kind = payload.slice(0, separator);
    const id = payload.slice(separator + 1);
    if (kind === 'u') this.cache.invalidateUser(id);
    else if (kind === 's') this.cache.invalidateSession(id);
    else if (kind === 'hb') this.heartbeatArrived(payload);
    else this.cache.invalidateAll();
  }

  /** Ours moves the proof of freshness; another instance's heartbeat means nothing here. */
  private heartbeatArrived(payload: string): void {
    const pending = this.inFlight.get(payload);
    if (pending === undefined) return;
    this.inFlight.delete(payload);
    if (pending.sentAt > this.confirmedSentAt) {
      this.confirmedSentAt = pending.sentAt;
      if (this.client !== undefined && this.heartbeatTimer !== undefined) {
        this.armDeadline(this.client);
      }
    }
    pending.arrived();
  }
}

type Pending = { accounts?: boolean; sessions?: boolean };
const PENDING = Symbol('authStatePending');

/**
 * This instance's own writes through TypeORM drop what they may have changed as soon as they
 * are committed (inside a transaction: at its commit; a rollback forgets them). Coarse, because
 * TypeORM's update and delete events do not carry the rows' ids: a user change drops every
 * account, a revocation every session. Such writes are rare next to reads.
 */
class LocalWriteSubscriber implements EntitySubscriberInterface {
  constructor(private readonly cache: AuthStateCache) {}

  afterInsert(event: InsertEvent<unknown>): void {
    if (event.metadata.target === UserRole) this.changed(event.queryRunner, { accounts: true });
  }

  afterUpdate(event: UpdateEvent<unknown>): void {
    const target = event.metadata.target;
    if (target === User || target === UserRole || target === Role) {
      this.changed(event.queryRunner, { accounts: true });
    } else if (target === Session) {
      const values = (event.entity ?? {}) as Record<string, unknown>;
      if ('revokedAt' in values || 'userId' in values || 'absoluteExpiresAt' in values) {
        this.changed(event.queryRunner, { sessions: true });
      }
    }
  }

  afterRemove(event: RemoveEvent<unknown>): void {
    const target = event.metadata.target;
    if (target === User || target === UserRole || target === Role) {
      this.changed(event.queryRunner, { accounts: true });
    } else if (target === Session) {
      this.changed(event.queryRunner, { sessions: true });
    }
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A released savepoint is not a commit: wait for the outermost transaction.
    if (event.queryRunner.isTransactionActive) return;
    const pending = pendingOf(event.queryRunner);
    if (pending === undefined) return;
    delete (event.queryRunner.data as Record<symbol, unknown>)[PENDING];
    this.apply(pending);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) {
      delete (event.queryRunner.data as Record<symbol, unknown>)[PENDING];
    }
  }

  private changed(queryRunner: QueryRunner, change: Pending): void {
    if (!queryRunner.isTransactionActive) {
      this.apply(change);
      return;
    }
    const data = queryRunner.data as Record<symbol, Pending | undefined>;
    data[PENDING] = { ...data[PENDING], ...change };
  }

  private apply(change: Pending): void {
    if (change.accounts === true) this.cache.invalidateAccounts();
    if (change.sessions === true) this.cache.invalidateSessions();
  }
}

function pendingOf(queryRunner: QueryRunner): Pending | undefined {
  return (queryRunner.data as Record<symbol, Pending | undefined>)[PENDING];
}
