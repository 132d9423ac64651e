import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ALLOW_MFA_ENROLMENT_EXTENSION } from '../common/http/documented-errors';

export const ALLOW_MFA_ENROLMENT_KEY = 'auth:allowMfaEnrolment';

/**
 * Lets a user who must enrol a second factor (a role in MFA_REQUIRED_FOR_ROLES, no factor yet)
 * use an authenticated route: everything else answers 403 `mfa_enrolment_required` until a
 * factor is enrolled (JwtAuthGuard). For what such a user needs to enrol or leave.
 */
export const AllowMfaEnrolment = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ALLOW_MFA_ENROLMENT_KEY, true),
    ApiExtension(ALLOW_MFA_ENROLMENT_EXTENSION, true),
  );
