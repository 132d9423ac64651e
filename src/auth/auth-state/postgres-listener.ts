import type { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type Notification } from 'pg';
import type { AuthStateCache } from './auth-state.cache';

/** The channel migration 1764000000006 notifies on (PostgreSQL). */
export const AUTH_STATE_CHANNEL = 'identity_auth_state';

/** The application name of the listening connection (pg_stat_activity shows it). */
export const LISTENER_APPLICATION_NAME = 'identity-auth-state-listener';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 30_000;
const SETTLE_TIMEOUT_MS = 5_000;
// The kernel's own probe of an idle listening socket; the heartbeat notices much sooner.
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

export interface ListenerSettings {
  url: string;
  /** Milliseconds between two heartbeats (AUTH_STATE_HEARTBEAT_MS). */
  heartbeatMs: number;
  /** Memory is trusted while a heartbeat sent less than this ago came back. */
  deadlineMs: number;
}

/**
 * PostgreSQL: a dedicated connection LISTENs on the triggers' channel and each notification drops
 * the user or session it names. Every `heartbeatMs` it also notifies itself; it is {@link fresh}
 * only while a heartbeat sent less than `deadlineMs` ago has come back (a half-open link sends
 * nothing), else it is torn down and reconnected (docs/decisions.md, "Auth-state cache:
 * heartbeat, bound and the missing triggers").
 */
export class PostgresListener {
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

  constructor(
    private readonly settings: ListenerSettings,
    private readonly cache: AuthStateCache,
    private readonly logger: Logger,
    /** Called whenever the connection starts or stops listening. */
    private readonly onListeningChange: () => void,
  ) {}

  /** Connects and listens; on failure keeps retrying in the background. */
  start(): Promise<void> {
    return this.listen();
  }

  /** Stops listening for good (module destroy). */
  async stop(): Promise<void> {
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
        sleep(this.settings.deadlineMs, undefined, { ref: false }),
      ]);
    }
    socket?.destroy();
  }

  /**
   * PostgreSQL: the listener is connected and the newest heartbeat that came back was sent
   * less than the deadline ago. Monotonic real time, not the injectable Clock: this measures
   * the network, not the time tokens are judged at.
   */
  fresh(): boolean {
    return this.listening && performance.now() - this.confirmedSentAt < this.settings.deadlineMs;
  }

  /**
   * Resolves once every change committed before the call has reached this instance: a
   * heartbeat sent now comes back after all earlier notifications.
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
      this.roundTrip(client, this.settings.deadlineMs)
        .catch(() => undefined)
        .finally(() => {
          this.heartbeatInFlight = false;
        });
    }, this.settings.heartbeatMs);
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
    const deadlineMs = this.settings.deadlineMs;
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

  private async listen(): Promise<void> {
    const { deadlineMs } = this.settings;
    // Our own socket, so that a connection that went silent can be destroyed at once (a polite
    // end would wait for an answer that never comes).
    const socket = new Socket();
    const client = new Client({
      connectionString: this.settings.url,
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
    this.onListeningChange();
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
