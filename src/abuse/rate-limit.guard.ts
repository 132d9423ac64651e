import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RATE_LIMIT_KEY, RateLimitOptions } from './rate-limit.decorator';
import { RateLimiterService } from './rate-limiter.service';

/**
 * Global, first of the guards: counts requests to `@RateLimit` routes before anything costly
 * (a password hash) happens. The client IP is Fastify's `request.ip`, which believes
 * X-Forwarded-For only as far as TRUST_PROXY says.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiterService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options = this.reflector.get<RateLimitOptions | undefined>(
      RATE_LIMIT_KEY,
      context.getHandler(),
    );
    if (options === undefined) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    await this.limiter.consumeIp(request.ip);
    const body = request.body as { username?: unknown } | undefined;
    if (options.perAccount && typeof body?.username === 'string' && body.username !== '') {
      await this.limiter.consumeAccount(body.username);
    }
    return true;
  }
}
