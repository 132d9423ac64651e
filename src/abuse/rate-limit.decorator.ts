import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ProblemDto } from '../common/http/problem.dto';

export const RATE_LIMIT_KEY = 'abuse:rateLimit';

export interface RateLimitOptions {
  /**
   * Also count against an account. `true`: the guard counts the body's `username` (register).
   * `'login'`: the route checks a password for a login name, and AuthService.authenticate counts
   * the bucket of the account it names after looking it up and before hashing, so its username
   * and email share one bucket (SPEC §6).
   */
  perAccount: boolean | 'login';
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
