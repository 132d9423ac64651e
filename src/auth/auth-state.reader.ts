import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RoleName } from '../users/entities/role.entity';
import { User } from '../users/entities/user.entity';
import type { UserWithRoles } from '../users/users.service';

export interface AuthState {
  account: UserWithRoles;
  session: {
    userId: string;
    revokedAt: Date | null;
    idleExpiresAt: Date;
    absoluteExpiresAt: Date;
  } | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Everything the JWT guard checks on every request, in one parameterised query: the user, their
// roles and the session the token names. Entity hydration through TypeORM's query builder cost
// more than the queries themselves on this path.
const AUTH_STATE_SQL = `
  SELECT u.id, u.username, u.email, u.is_active, u.password_changed_at, u.created_at, u.updated_at,
         s.user_id AS session_user_id, s.revoked_at, s.idle_expires_at, s.absolute_expires_at,
         r.name AS role
  FROM users u
  LEFT JOIN sessions s ON s.id = :sessionId
  LEFT JOIN users_to_roles ur ON ur.user_id = u.id
  LEFT JOIN roles r ON r.id = ur.role_id
  WHERE u.id = :userId`;

interface Row {
  id: string;
  username: string;
  email: string;
  is_active: boolean | number;
  password_changed_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  session_user_id: string | null;
  revoked_at: Date | string | null;
  idle_expires_at: Date | string | null;
  absolute_expires_at: Date | string | null;
  role: RoleName | null;
}

/** Reads a user's auth state fresh from the database: every instance sees every change at once. */
@Injectable()
export class AuthStateReader {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async load(userId: string, sessionId: string): Promise<AuthState | null> {
    if (!UUID.test(userId) || !UUID.test(sessionId)) return null;
    const [query, parameters] = this.dataSource.driver.escapeQueryWithParameters(AUTH_STATE_SQL, {
      userId,
      sessionId,
    });
    const rows: Row[] = await this.dataSource.query(query, parameters);
    const [first] = rows;
    if (first === undefined) return null;
    const user = Object.assign(new User(), {
      id: first.id,
      username: first.username,
      email: first.email,
      isActive: first.is_active === true || first.is_active === 1,
      passwordChangedAt: toDateOrNull(first.password_changed_at),
      createdAt: toDate(first.created_at),
      updatedAt: toDate(first.updated_at),
    });
    const roles = rows.flatMap((row) => (row.role === null ? [] : [row.role])).sort();
    const session =
      first.session_user_id === null
        ? null
        : {
            userId: first.session_user_id,
            revokedAt: toDateOrNull(first.revoked_at),
            idleExpiresAt: toDate(first.idle_expires_at ?? 0),
            absoluteExpiresAt: toDate(first.absolute_expires_at ?? 0),
          };
    return { account: { user, roles }, session };
  }
}

/** PostgreSQL hands back Dates; SQLite the UTC text TypeORM stored ("YYYY-MM-DD HH:MM:SS.SSS"). */
function toDate(value: Date | string | number): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  const iso = value.includes('T') ? value : value.replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`);
}

function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}
