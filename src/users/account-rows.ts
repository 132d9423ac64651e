import { toDate, toDateOrNull } from '../database/database';
import type { RoleName } from '../access/role-name';
import { User } from './entities/user.entity';

/** A user with the names of their roles, as the rest of the service sees one. */
export interface UserWithRoles {
  user: User;
  roles: RoleName[];
}

/**
 * The user columns every query that loads an account selects (login, the token check, the
 * refresh rotation), with one row per role: `u.id, u.username, u.email, u.is_active,
 * u.email_verified_at, u.password_changed_at, u.created_at, u.updated_at, r.name AS role`.
 */
export interface AccountRow {
  id: string;
  username: string;
  email: string;
  is_active: boolean | number;
  email_verified_at: Date | string | null;
  password_changed_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  role: RoleName | null;
}

/** The SELECT list of {@link AccountRow}, for queries that join `users u` and `roles r`. */
export const ACCOUNT_COLUMNS = `u.id, u.username, u.email, u.is_active, u.email_verified_at, u.password_changed_at,
         u.created_at, u.updated_at, r.name AS role`;

/**
 * The one mapper of a user and their role names, from rows of AccountRow (one per role), frozen
 * all through: the auth-state cache shares it between requests.
 */
export function accountFromRows(rows: readonly AccountRow[], first: AccountRow): UserWithRoles {
  const user = Object.assign(new User(), {
    id: first.id,
    username: first.username,
    email: first.email,
    isActive: first.is_active === true || first.is_active === 1,
    emailVerifiedAt: toDateOrNull(first.email_verified_at),
    passwordChangedAt: toDateOrNull(first.password_changed_at),
    createdAt: toDate(first.created_at),
    updatedAt: toDate(first.updated_at),
  });
  const roles = rows.flatMap((row) => (row.role === null ? [] : [row.role])).sort();
  Object.freeze(user);
  Object.freeze(roles);
  return Object.freeze({ user, roles });
}
