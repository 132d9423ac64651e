import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { REQUIRE_MFA_EXTENSION } from '../common/http/documented-errors';
import { ProblemDto } from '../common/http/problem.dto';
import { Authenticated } from './authenticated.decorator';

export const REQUIRE_MFA_KEY = 'auth:requireMfa';

export interface RequireMfaOptions {
  /** How recent the second factor must be, seconds; default MFA_STEP_UP_MAX_AGE. */
  maxAgeSeconds?: number;
}

/**
 * Requires an access token whose session proved a second factor within `maxAgeSeconds`
 * (JwtAuthGuard). Otherwise 401 `mfa_step_up_required` with RFC 9470's
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=N`: the client
 * proves one (POST /auth/mfa/step-up) and retries with the new token. Not enforced while
 * MFA_ENABLED=false (no one could prove a second factor).
 */
export const RequireMfa = (options: RequireMfaOptions = {}): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(REQUIRE_MFA_KEY, options),
    Authenticated(),
    ApiExtension(REQUIRE_MFA_EXTENSION, options.maxAgeSeconds ?? 'MFA_STEP_UP_MAX_AGE'),
    ApiUnauthorizedResponse({
      description:
        'Missing, invalid or expired access token, or the account is no longer active; or ' +
        '`mfa_step_up_required`: no second factor proven recently enough in this session ' +
        '(RFC 9470 `WWW-Authenticate` with `max_age`; POST /auth/mfa/step-up, then retry)',
      type: ProblemDto,
    }),
  );
