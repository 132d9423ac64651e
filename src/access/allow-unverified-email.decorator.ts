import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

import { ALLOW_UNVERIFIED_EMAIL_EXTENSION } from '../common/http/documented-errors';

export const ALLOW_UNVERIFIED_EMAIL_KEY = 'auth:allowUnverifiedEmail';

/**
 * Lets an account whose email is not verified use an authenticated route while
 * EMAIL_VERIFICATION=required: everything else answers 403 `email_not_verified` until the
 * address is verified (JwtAuthGuard; docs/decisions.md, "Email verification modes").
 * For what such an account needs to get verified or leave: resend, profile, logout, sessions.
 */
export const AllowUnverifiedEmail = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ALLOW_UNVERIFIED_EMAIL_KEY, true),
    ApiExtension(ALLOW_UNVERIFIED_EMAIL_EXTENSION, true),
  );
