import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ProblemDto } from '../common/http/problem.dto';

export const RATE_LIMIT_KEY = 'abuse:rateLimit';

export interface RateLimitOptions {
  /** Also count against the account name in the body's `username` (login, token, register). */
  perAccount: boolean;
}

/** Limits a route per client IP (and per account name); documents the 429. */
export const RateLimit = (options: RateLimitOptions): MethodDecorator =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_KEY, options),
    ApiResponse({
      status: 429,
      description: 'Too many attempts from this address or for this account; see Retry-After',
      type: ProblemDto,
    }),
  );
