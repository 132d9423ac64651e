import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * - `pass`: bytes flow both ways;
 * - `down`: every connection is destroyed and new ones are refused (closed at once), as when
 *   the server is gone.
 */
export type ProxyMode = 'pass' | 'down';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** The first bytes the client sent (PostgreSQL: the startup message, in plain text). */
  greeting: string;
  blackholed: boolean;
}

/**
 * A TCP proxy on a loopback port in front of a real server (the shared PostgreSQL or Redis), for
 * outage tests: the shared servers are never stopped, the proxy plays the outage. A blackhole
 * keeps chosen connections open but silently drops their bytes both ways (a half-open link:
 * no reset, no FIN, nothing), chosen by what their client sent first.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private modeValue: ProxyMode = 'pass';
  private blackhole?: (greeting: string) => boolean;
  /** The first packet of every connection so far, open or not. */
  private readonly greetings: string[] = [];
  private greetingWaiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  get mode(): ProxyMode {
    return this.modeValue;
  }

  /** `down` destroys every open connection; `pass` lets new ones through again. */
  setMode(mode: ProxyMode): void {
    this.modeValue = mode;
    if (mode === 'down') {
      for (const pair of this.pairs) this.destroy(pair);
    }
  }

  /**
   * From now on, drops every byte of the connections (open or new) whose first packet
   * contains `marker`; `undefined` ends the blackhole (the open connections stay broken, as a
   * real half-open connection would: only new ones work).
   */
  blackholeWhere(marker: string | undefined): void {
    this.blackhole = marker === undefined ? undefined : (greeting) => greeting.includes(marker);
    if (this.blackhole === undefined) return;
    for (const pair of this.pairs) {
      if (this.blackhole(pair.greeting)) pair.blackholed = true;
    }
  }

  /** How many open connections' first packet contains `marker`. */
  connectionsWith(marker: string): number {
    let count = 0;
    for (const pair of this.pairs) if (pair.greeting.includes(marker)) count += 1;
    return count;
  }

  /** How many connections so far (open or closed) had `marker` in their first packet. */
  connectionsEverWith(marker: string): number {
    return this.greetings.filter((greeting) => greeting.includes(marker)).length;
  }

  /** Resolves when the next connection has sent its first packet. */
  nextGreeting(): Promise<void> {
    return new Promise((resolve) => this.greetingWaiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.destroy(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    if (this.modeValue === 'down') {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, greeting: '', blackholed: false };
    this.pairs.add(pair);
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        pair.greeting = chunk.toString('latin1');
        if (this.blackhole?.(pair.greeting) === true) pair.blackholed = true;
        this.greetings.push(pair.greeting);
        const waiters = this.greetingWaiters;
        this.greetingWaiters = [];
        for (const resolve of waiters) resolve();
      }
      if (!pair.blackholed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.blackholed) client.write(chunk);
    });
    const end = () => this.destroy(pair);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  private destroy(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}

/** `url` with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}

/** The host and port a URL names (PostgreSQL 5432 and Redis 6379 when it names none). */
export function targetOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol.startsWith('redis') ? 6379 : 5432;
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? defaultPort : Number(parsed.port),
  };
}
