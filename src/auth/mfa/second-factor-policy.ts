import { satisfiesRoles } from '../../access/role-hierarchy';
import { RoleName } from '../../access/role-name';
import type { AppConfig } from '../../config/app-config';

/**
 * Whether a user with `roles` whose session proved no second factor (`mfaAt` null) may use
 * only the routes that enrol one: MFA_REQUIRED_FOR_ROLES names one of the roles.
 */
export function mustEnrolSecondFactor(
  mfa: Pick<AppConfig['mfa'], 'enabled' | 'requiredForRoles'>,
  roles: readonly string[],
  mfaAt: Date | null,
): boolean {
  return (
    mfa.enabled &&
    mfaAt === null &&
    mfa.requiredForRoles.length > 0 &&
    satisfiesRoles(roles, mfa.requiredForRoles)
  );
}

/** Whether a route's required roles make it ADMIN-only (no lower role passes). */
export function isAdminOnly(required: readonly RoleName[]): boolean {
  return required.length > 0 && required.every((role) => role === RoleName.Admin);
}
