import { Global, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { LockoutService } from './lockout.service';
import { RateLimiterService } from './rate-limiter.service';
import { RedisConnection } from './redis.provider';

/** Rate limits (and the Redis connection they share across instances) and account lockout. */
@Global()
@Module({
  imports: [AuditModule],
  providers: [RedisConnection, RateLimiterService, LockoutService],
  exports: [RedisConnection, RateLimiterService, LockoutService],
})
export class AbuseModule {}
