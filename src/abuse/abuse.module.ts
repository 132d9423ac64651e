import { Global, Module } from '@nestjs/common';
import { RateLimiterService } from './rate-limiter.service';
import { RedisConnection } from './redis.provider';

/** Rate limits and the Redis connection they share across instances. */
@Global()
@Module({
  providers: [RedisConnection, RateLimiterService],
  exports: [RedisConnection, RateLimiterService],
})
export class AbuseModule {}
