import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RouteMetadata } from '../common/route-metadata';
import { RATE_LIMIT_KEY, RateLimitOptions } from './rate-limit.decorator';
import { RateLimiterService } from './rate-limiter.service';
import { DomainError } from '../common/errors/domain-error';
import { Metrics } from '../metrics/metrics.service';

/**
 * Global, first of the guards: counts requests to `@RateLimit` routes before anything costly
 * (a password hash) happens. Login routes' account buckets are counted by AuthService, which
 * knows which account a name belongs to (still before any hash). The client IP is Fastify's `request.ip`, which believes
 * X-Forwarded-For only as far as TRUST_PROXY says.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly options: RouteMetadata<RateLimitOptions | undefined>;

  constructor(
    reflector: Reflector,
    private readonly limiter: RateLimiterService,
    private readonly metrics: Metrics,
  ) {
    this.options = new RouteMetadata((handler) =>
      reflector.get<RateLimitOptions | undefined>(RATE_LIMIT_KEY, handler),
    );
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const options = this.options.of(context);
    // Most routes have no limit: no promise for them.
    return options === undefined ? true : this.consume(context, options);
  }

  private async consume(context: ExecutionContext, options: RateLimitOptions): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const body = request.body as { username?: unknown; grant_type?: unknown } | undefined;
    try {
      await this.limiter.consumeIp(request.ip);
    } catch (error) {
      // A login refused before its password was looked at (a refresh grant is no login).
      const login = options.perAccount === 'login' && body?.grant_type !== 'refresh_token';
      if (login && error instanceof DomainError && error.code === 'rate_limited') {
        this.metrics.login('rate_limited');
      }
      throw error;
    }
    if (options.perAccount === true && typeof body?.username === 'string' && body.username !== '') {
      await this.limiter.consumeAccount({ loginName: body.username });
    }
    return true;
  }
}
