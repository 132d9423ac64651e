import { RoleName } from './role-name';

// Each role and the roles it implies: ADMIN ⊇ MODERATOR ⊇ USER.
const IMPLIES: Record<RoleName, RoleName[]> = {
  [RoleName.Admin]: [RoleName.Admin, RoleName.Moderator, RoleName.User],
  [RoleName.Moderator]: [RoleName.Moderator, RoleName.User],
  [RoleName.User]: [RoleName.User],
};

/** Every role a user effectively holds, given the roles granted to them. */
export function effectiveRoles(granted: readonly string[]): Set<RoleName> {
  const effective = new Set<RoleName>();
  for (const role of granted) {
    for (const implied of IMPLIES[role as RoleName] ?? []) effective.add(implied);
  }
  return effective;
}

/** True when the granted roles satisfy at least one of the required roles. */
export function satisfiesRoles(granted: readonly string[], required: readonly RoleName[]): boolean {
  if (required.length === 0) return true;
  const effective = effectiveRoles(granted);
  return required.some((role) => effective.has(role));
}
