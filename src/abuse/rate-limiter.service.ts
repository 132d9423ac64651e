import { Injectable } from '@nestjs/common';
import {
  RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics.service';
import { canonicalLoginName } from '../users/canonical-identity';
import { RedisConnection } from './redis.provider';

export type RateLimitBucket = 'ip' | 'account';

/** Whose account bucket an attempt counts against. */
export type AccountKey = { userId: string } | { loginName: string };

/**
 * Fixed-window counters per client IP and per account: an existing account by its id (so its
 * username and email share one bucket), any other name in its canonical form (so `Alice`,
 * `alice` and `ａｌｉｃｅ` share one). In Redis when REDIS_URL is set, so every instance counts
 * together; in memory otherwise (and as the fallback while Redis is unreachable).
 */
@Injectable()
export class RateLimiterService {
  private readonly limiters: Record<RateLimitBucket, RateLimiterAbstract>;

  constructor(
    private readonly config: AppConfig,
    redis: RedisConnection,
    private readonly metrics: Metrics,
  ) {
    const make = (bucket: RateLimitBucket, points: number): RateLimiterAbstract => {
      const options = {
        keyPrefix: `${config.rateLimit.keyPrefix}:${bucket}`,
        points,
        duration: 60,
      };
      const memory = new RateLimiterMemory(options);
      return redis.client === null
        ? memory
        : new RateLimiterRedis({ ...options, storeClient: redis.client, insuranceLimiter: memory });
    };
    this.limiters = {
      ip: make('ip', config.rateLimit.ipPerMinute),
      account: make('account', config.rateLimit.accountPerMinute),
    };
  }

  /** Counts one attempt against the client IP; throws 429 when over the limit. */
  async consumeIp(ip: string): Promise<void> {
    await this.consume('ip', ip);
  }

  /** Counts one attempt against an account (or a name no account has); 429 when over the limit. */
  async consumeAccount(account: AccountKey): Promise<void> {
    // Prefixed: a name typed into a login form can never share the bucket of an account's id.
    const key =
      'userId' in account
        ? `id:${account.userId}`
        : `name:${canonicalLoginName(account.loginName).value}`;
    await this.consume('account', key);
  }

  private async consume(bucket: RateLimitBucket, key: string): Promise<void> {
    if (!this.config.rateLimit.enabled) return;
    try {
      await this.limiters[bucket].consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        this.metrics.rateLimited(bucket);
        throw new DomainError('rate_limited', 'Too many attempts; try again later', undefined, {
          retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
        });
      }
      throw rejection;
    }
  }
}
