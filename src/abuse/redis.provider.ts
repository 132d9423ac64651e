import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';

/** The shared Redis connection when REDIS_URL is set; null means in-process state. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnection.name);
  readonly client: Redis | null;

  constructor(@Inject(AppConfig) config: AppConfig) {
    this.client =
      config.redisUrl === undefined
        ? null
        : new Redis(config.redisUrl, {
            // Fail fast instead of queueing commands while Redis is away: the limiter falls back
            // to in-process counters rather than making logins wait.
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
            connectTimeout: 2000,
          });
    this.client?.on('error', (error: Error) => this.logger.warn(`Redis: ${error.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client === null) return;
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => undefined);
    } else {
      // Not connected: stop reconnecting, or the retry timer keeps the process alive.
      this.client.disconnect();
    }
  }
}
