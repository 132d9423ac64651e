import { Injectable } from '@nestjs/common';
import { Brackets, In } from 'typeorm';
import { Database, type Statement, type Transaction } from '../database/database';
import {
  ACCOUNT_COLUMNS,
  type AccountRow,
  accountFromRows,
  type UserWithRoles,
} from './account-rows';
import { Role } from './entities/role.entity';
import { RoleName } from '../access/role-name';
import { UserRole } from './entities/user-role.entity';
import { User } from './entities/user.entity';

/**
 * What a password check reads: the account, and apart from it (never handed further) the
 * password hash. The lockout state is not read: the lockout reservation decides on it atomically.
 */
export interface LoginAccount {
  account: UserWithRoles;
  passwordHash: string;
}

/** A page of the user list: filters, sort and position, names already in canonical form. */
export interface UserListQuery {
  /** Matched anywhere in username or email (lower-case, as they are stored). */
  q?: string;
  isActive?: boolean;
  role?: RoleName;
  /** A sort key, `-` in front for descending. */
  sort: string;
  page: number;
  limit: number;
}

/** The lockout columns of an account, as an unlock reports them. */
export interface LockoutState {
  failedLoginCount: number;
  lockedUntil: Date | null;
}

/** The lockout settings a reservation applies (AppConfig.lockout). */
export interface LockoutLimits {
  threshold: number;
  baseSeconds: number;
  maxSeconds: number;
}

interface LoginRow extends AccountRow {
  password_hash: string;
}

const ACCOUNT_FROM = `
  FROM users u
  LEFT JOIN users_to_roles ur ON ur.user_id = u.id
  LEFT JOIN roles r ON r.id = ur.role_id`;

// One parameterised query for everything a login reads: TypeORM's query building and entity
// hydration, and a second round trip for the roles, cost more than the query (docs/benchmarks.md).
const LOGIN_ACCOUNT_SELECT = `
  SELECT u.id, u.username, u.email, u.is_active, u.email_verified_at, u.password_changed_at, u.created_at, u.updated_at,
         u.password_hash, r.name AS role
  FROM users u
  LEFT JOIN users_to_roles ur ON ur.user_id = u.id
  LEFT JOIN roles r ON r.id = ur.role_id`;
const LOGIN_ACCOUNT: Record<'username' | 'email', Statement> = {
  username: {
    name: 'identity_login_by_username',
    sql: `${LOGIN_ACCOUNT_SELECT} WHERE u.username = :value`,
  },
  email: { name: 'identity_login_by_email', sql: `${LOGIN_ACCOUNT_SELECT} WHERE u.email = :value` },
};

// The one loader of a user with roles by id, in the shape of the login and auth-state reads.
const ACCOUNT_BY_ID: Statement = {
  name: 'identity_account_by_id',
  sql: `SELECT ${ACCOUNT_COLUMNS} ${ACCOUNT_FROM} WHERE u.id = :id`,
};

// ON CONFLICT DO NOTHING: SQLite and PostgreSQL both take it; the row count says whether it granted.
const GRANT_ROLE: Statement = {
  name: 'user_management_grant_role',
  sql: 'INSERT INTO users_to_roles (user_id, role_id) VALUES (:userId, :roleId) ON CONFLICT DO NOTHING',
};

// Reserves one attempt: only while the account is not locked at :now, adds one failure and, when
// the new count reaches the threshold, locks the account in the same statement. Atomic on both
// databases (PostgreSQL re-checks the WHERE on the row a concurrent reservation committed; SQLite
// has one writer), so concurrent attempts can never reserve more than the lock allows.
// Lock length: min(max, base * 2^(count - threshold)), as LockoutService.lockSeconds computes it.
const RESERVE: Record<'postgres' | 'sqlite', Statement> = {
  postgres: {
    name: 'identity_lockout_reserve',
    sql: `
      UPDATE users SET
        failed_login_count = failed_login_count + 1,
        locked_until = CASE WHEN failed_login_count + 1 >= :threshold
          THEN CAST(:now AS timestamptz) + CAST(LEAST(CAST(:maxSeconds AS bigint),
            CAST(:baseSeconds AS bigint) << LEAST(failed_login_count + 1 - :threshold, 30))
            AS double precision) * INTERVAL '1 second'
          ELSE locked_until END
      WHERE id = :id AND (locked_until IS NULL OR locked_until <= :now)
      RETURNING failed_login_count AS rank`,
  },
  sqlite: {
    name: 'identity_lockout_reserve',
    sql: `
      UPDATE users SET
        failed_login_count = failed_login_count + 1,
        locked_until = CASE WHEN failed_login_count + 1 >= :threshold
          THEN strftime('%Y-%m-%d %H:%M:%f', :now, '+' || MIN(CAST(:maxSeconds AS INTEGER),
            CAST(:baseSeconds AS INTEGER) << MIN(failed_login_count + 1 - :threshold, 30))
            || ' seconds')
          ELSE locked_until END
      WHERE id = :id AND (locked_until IS NULL OR locked_until <= :now)
      RETURNING failed_login_count AS rank`,
  },
};

// The common case, in one statement of its own: an attempt that leaves the count below the
// threshold locks nothing and writes no event, so it needs no transaction. Anything else (the
// account is locked, or this attempt reaches the threshold) goes to RESERVE in a transaction.
const COUNT_BELOW_THRESHOLD: Statement = {
  name: 'identity_lockout_count',
  sql: `
    UPDATE users SET failed_login_count = failed_login_count + 1
    WHERE id = :id AND (locked_until IS NULL OR locked_until <= :now)
      AND failed_login_count + 1 < :threshold
    RETURNING failed_login_count AS rank`,
};

// A verified password resolves its own reservation and the failures before it. The lock goes only
// if no later attempt was reserved meanwhile (the count reaches 0): a lock those set stays.
// CASE rather than GREATEST/MAX: one text for both databases.
const RELEASE: Statement = {
  name: 'identity_lockout_release',
  sql: `
    UPDATE users SET
      failed_login_count = CASE WHEN failed_login_count > :rank
        THEN failed_login_count - :rank ELSE 0 END,
      locked_until = CASE WHEN failed_login_count <= :rank THEN NULL ELSE locked_until END
    WHERE id = :id`,
};

// Only the attempt counted as `rank`; its own lock goes too when no later attempt was counted
// (the account was not locked when the attempt was granted).
const WITHDRAW: Statement = {
  name: 'identity_lockout_withdraw',
  sql: `
    UPDATE users SET
      failed_login_count = CASE WHEN failed_login_count > 0 THEN failed_login_count - 1 ELSE 0 END,
      locked_until = CASE WHEN failed_login_count = :rank THEN NULL ELSE locked_until END
    WHERE id = :id`,
};

const SORT_COLUMNS = {
  createdAt: 'user.createdAt',
  username: 'user.username',
  email: 'user.email',
} as const;

/**
 * The users aggregate in the database: accounts, their role grants and their lockout columns.
 * Every SQL text and dialect branch about them is here; services group the calls into
 * transactions (Transactions) and keep the rules.
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly database: Database) {}

  /** A user with their roles, by id, in one query; null if there is none. */
  async findWithRoles(id: string, tx?: Transaction): Promise<UserWithRoles | null> {
    const { rows } = await this.database.run<AccountRow>(ACCOUNT_BY_ID, { id }, tx);
    const [first] = rows;
    return first === undefined ? null : accountFromRows(rows, first);
  }

  /** The account a canonical username or email names, with its password hash, in one query. */
  async findLoginAccount(kind: 'username' | 'email', value: string): Promise<LoginAccount | null> {
    const { rows } = await this.database.run<LoginRow>(LOGIN_ACCOUNT[kind], { value });
    const [first] = rows;
    if (first === undefined) return null;
    return { account: accountFromRows(rows, first), passwordHash: first.password_hash };
  }

  /** A page of users, with the number of all users the filters match. */
  async list(query: UserListQuery): Promise<{ items: UserWithRoles[]; total: number }> {
    const qb = this.database.manager().getRepository(User).createQueryBuilder('user');
    if (query.q !== undefined && query.q !== '') {
      const pattern = `%${escapeLike(query.q)}%`;
      qb.andWhere(
        new Brackets((where) =>
          where
            .where("user.username LIKE :pattern ESCAPE '\\'", { pattern })
            .orWhere("user.email LIKE :pattern ESCAPE '\\'", { pattern }),
        ),
      );
    }
    if (query.isActive !== undefined)
      qb.andWhere('user.isActive = :isActive', { isActive: query.isActive });
    if (query.role !== undefined) {
      qb.andWhere(
        'EXISTS (SELECT 1 FROM users_to_roles ur INNER JOIN roles r ON r.id = ur.role_id ' +
          'WHERE ur.user_id = user.id AND r.name = :role)',
        { role: query.role },
      );
    }
    const total = await qb.getCount();
    const descending = query.sort.startsWith('-');
    const column = SORT_COLUMNS[query.sort.replace('-', '') as keyof typeof SORT_COLUMNS];
    const page = await qb
      .select('user.id', 'id')
      .orderBy(column, descending ? 'DESC' : 'ASC')
      // Ties broken by id, so pages never repeat or skip a user.
      .addOrderBy('user.id', 'ASC')
      .offset((query.page - 1) * query.limit)
      .limit(query.limit)
      .getRawMany<{ id: string }>();
    return { items: await this.findManyWithRoles(page.map((row) => row.id)), total };
  }

  /** The id of the user holding `field` = `value`, if any. */
  async findIdByName(
    tx: Transaction,
    field: 'username' | 'email',
    value: string,
  ): Promise<string | null> {
    const holder = await this.database
      .manager(tx)
      .getRepository(User)
      .findOne({ where: { [field]: value }, select: { id: true } });
    return holder?.id ?? null;
  }

  /** Which of the two names an existing account already holds (username first), if any. */
  async findNameClash(names: {
    username: string;
    email: string;
  }): Promise<'username' | 'email' | null> {
    const clash = await this.database
      .manager()
      .getRepository(User)
      .findOne({
        where: [{ username: names.username }, { email: names.email }],
        select: { id: true, username: true, email: true },
      });
    if (clash === null) return null;
    return clash.username === names.username ? 'username' : 'email';
  }

  /** Of these canonical names, the ones an account already holds (import-users). */
  async findTakenNames(names: {
    usernames: string[];
    emails: string[];
  }): Promise<{ usernames: Set<string>; emails: Set<string> }> {
    const taken = { usernames: new Set<string>(), emails: new Set<string>() };
    const users = this.database.manager().getRepository(User);
    // Chunks keep each IN list far below the databases' parameter limits.
    for (
      let start = 0;
      start < Math.max(names.usernames.length, names.emails.length);
      start += 500
    ) {
      const usernames = names.usernames.slice(start, start + 500);
      const emails = names.emails.slice(start, start + 500);
      const holders = await users.find({
        where: [
          ...(usernames.length > 0 ? [{ username: In(usernames) }] : []),
          ...(emails.length > 0 ? [{ email: In(emails) }] : []),
        ],
        select: { id: true, username: true, email: true },
      });
      for (const holder of holders) {
        taken.usernames.add(holder.username);
        taken.emails.add(holder.email);
      }
    }
    return taken;
  }

  /** Inserts an account; the unique indexes refuse a taken name (translateAccountConflict). */
  async insertAccount(
    tx: Transaction,
    account: { username: string; email: string; passwordHash: string; isActive?: boolean },
  ): Promise<User> {
    const manager = this.database.manager(tx);
    return manager.save(manager.create(User, account));
  }

  /** Grants the named roles to a user who has none of them yet. */
  async grantRoles(tx: Transaction, userId: string, names: RoleName[]): Promise<void> {
    if (names.length === 0) return;
    const manager = this.database.manager(tx);
    const roles = await manager.getRepository(Role).findBy({ name: In(names) });
    if (roles.length !== names.length) {
      throw new Error(`Roles missing from the roles table: ${names.join(', ')}`);
    }
    await manager
      .getRepository(UserRole)
      .insert(roles.map((role) => ({ userId, roleId: role.id })));
  }

  async findRole(tx: Transaction, name: RoleName): Promise<Role | null> {
    return this.database.manager(tx).getRepository(Role).findOneBy({ name });
  }

  /** Grants a role; false if the user already had it (a concurrent grant may have come first). */
  async grantRole(tx: Transaction, userId: string, roleId: number): Promise<boolean> {
    const { affected } = await this.database.run(GRANT_ROLE, { userId, roleId }, tx);
    return affected > 0;
  }

  /** Revokes a role; false if the user did not have it (anymore). */
  async revokeRole(tx: Transaction, userId: string, roleId: number): Promise<boolean> {
    const { affected } = await this.database.manager(tx).delete(UserRole, { userId, roleId });
    return affected !== 0;
  }

  /**
   * Serialises, until `tx` ends, every change that can shrink the set of active administrators:
   * on PostgreSQL by locking the ROLE_ADMIN row, so two admins demoting each other at once run one
   * after the other and the second sees the first's result; SQLite runs one writer at a time anyway.
   */
  async lockAdminSet(tx: Transaction): Promise<void> {
    if (this.database.dialect !== 'postgres') return;
    await this.database
      .manager(tx)
      .getRepository(Role)
      .createQueryBuilder('role')
      .setLock('pessimistic_write')
      .where('role.name = :name', { name: RoleName.Admin })
      .getOne();
  }

  /** Ids of the active users holding ROLE_ADMIN. */
  async findActiveAdminIds(tx: Transaction): Promise<string[]> {
    const admins = await this.database
      .manager(tx)
      .getRepository(User)
      .createQueryBuilder('user')
      .innerJoin(UserRole, 'ur', 'ur.user_id = user.id')
      .innerJoin(Role, 'role', 'role.id = ur.role_id AND role.name = :admin', {
        admin: RoleName.Admin,
      })
      .where('user.isActive = :active', { active: true })
      .select('user.id', 'id')
      .getRawMany<{ id: string }>();
    return admins.map((admin) => admin.id);
  }

  /** Changes username and/or email (an undefined one stays). */
  async updateNames(
    tx: Transaction,
    id: string,
    names: { username?: string; email?: string },
  ): Promise<void> {
    await this.database
      .manager(tx)
      .update(User, { id }, { username: names.username, email: names.email });
  }

  /** Marks the email verified at `at`, or unverified (null). */
  async setEmailVerifiedAt(tx: Transaction, id: string, at: Date | null): Promise<void> {
    await this.database.manager(tx).update(User, { id }, { emailVerifiedAt: at });
  }

  async setActive(tx: Transaction, id: string, isActive: boolean): Promise<void> {
    await this.database.manager(tx).update(User, { id }, { isActive });
  }

  /** Deletes a user; their role grants and sessions go with them (foreign keys cascade). */
  async delete(tx: Transaction, id: string): Promise<void> {
    await this.database.manager(tx).delete(User, { id });
  }

  /** Replaces the password hash alone (a re-hash: password_changed_at stays). */
  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    // In a transaction so that on SQLite it queues behind others instead of joining one.
    await this.database.transaction((tx) =>
      this.database.manager(tx).update(User, { id }, { passwordHash }),
    );
  }

  /**
   * A password change: the new hash, and `password_changed_at` moved to `changedAt` but at least
   * one second past the previous change, in one statement: concurrent changes each move past the
   * one committed before them (UsersService.setPassword).
   */
  async setPassword(
    tx: Transaction,
    id: string,
    passwordHash: string,
    changedAt: Date,
  ): Promise<void> {
    const later =
      this.database.dialect === 'postgres'
        ? "GREATEST(CAST(:changedAt AS timestamptz), password_changed_at + INTERVAL '1 second')"
        : "MAX(:changedAt, COALESCE(strftime('%Y-%m-%d %H:%M:%f', password_changed_at, '+1 seconds'), :changedAt))";
    await this.database
      .manager(tx)
      .createQueryBuilder()
      .update(User)
      .set({ passwordHash, passwordChangedAt: () => later })
      .setParameters({ changedAt })
      .where('id = :id', { id })
      .execute();
  }

  /**
   * Counts one failed attempt on `id` if the account is not locked at `now` and the count stays
   * below the threshold; its new count, or null when it did not count (locked, at the threshold,
   * or no such account). One statement on its own (see {@link alone}).
   */
  async countAttempt(id: string, now: Date, threshold: number): Promise<number | null> {
    const {
      rows: [counted],
    } = await this.alone<{ rank: number | string }>(COUNT_BELOW_THRESHOLD, { id, now, threshold });
    return counted === undefined ? null : Number(counted.rank);
  }

  /**
   * Counts one failed attempt on `id` if the account is not locked at `now`, locking it when the
   * count reaches the threshold; the new count, or null when the account is locked (or absent).
   */
  async reserveAttempt(
    tx: Transaction,
    id: string,
    now: Date,
    limits: LockoutLimits,
  ): Promise<number | null> {
    const {
      rows: [row],
    } = await this.database.run<{ rank: number | string }>(
      RESERVE[this.database.dialect],
      {
        id,
        now,
        threshold: limits.threshold,
        baseSeconds: limits.baseSeconds,
        maxSeconds: limits.maxSeconds,
      },
      tx,
    );
    return row === undefined ? null : Number(row.rank);
  }

  /**
   * Undoes the attempt counted as `rank` and the failures before it; lifts the lock if no later
   * attempt was counted. Inside `tx` when given, else as one statement on its own.
   */
  async releaseAttempts(id: string, rank: number, tx?: Transaction): Promise<void> {
    if (tx !== undefined) await this.database.run(RELEASE, { id, rank }, tx);
    else await this.alone(RELEASE, { id, rank });
  }

  /** Undoes only the attempt counted as `rank` (see WITHDRAW). */
  async withdrawAttempt(id: string, rank: number): Promise<void> {
    await this.alone(WITHDRAW, { id, rank });
  }

  async findLockoutState(tx: Transaction, id: string): Promise<LockoutState | null> {
    const user = await this.database
      .manager(tx)
      .getRepository(User)
      .findOne({ where: { id }, select: { id: true, failedLoginCount: true, lockedUntil: true } });
    return user === null
      ? null
      : { failedLoginCount: user.failedLoginCount, lockedUntil: user.lockedUntil };
  }

  /** Clears the failure count and the lock. */
  async resetLockout(tx: Transaction, id: string): Promise<void> {
    await this.database
      .manager(tx)
      .update(User, { id }, { failedLoginCount: 0, lockedUntil: null });
  }

  /** Users with roles for `ids`, in the order of `ids` (one that is gone meanwhile is left out). */
  private async findManyWithRoles(ids: string[]): Promise<UserWithRoles[]> {
    if (ids.length === 0) return [];
    const rows = await this.database
      .manager()
      .createQueryBuilder()
      .select(ACCOUNT_COLUMNS)
      .from(User, 'u')
      .leftJoin(UserRole, 'ur', 'ur.user_id = u.id')
      .leftJoin(Role, 'r', 'r.id = ur.role_id')
      .where('u.id IN (:...ids)', { ids })
      .getRawMany<AccountRow>();
    const byUser = new Map<string, AccountRow[]>();
    for (const row of rows) {
      const own = byUser.get(row.id);
      if (own === undefined) byUser.set(row.id, [row]);
      else own.push(row);
    }
    return ids.flatMap((id) => {
      const own = byUser.get(id);
      return own === undefined ? [] : [accountFromRows(own, own[0])];
    });
  }

  /**
   * One statement on its own, atomic by itself: on PostgreSQL autocommitted (no transaction's
   * round trips on every login); on SQLite in a transaction, so that it queues behind others on
   * the one connection instead of joining one.
   */
  private async alone<Row>(
    statement: Statement,
    parameters: Record<string, unknown>,
  ): Promise<{ rows: Row[] }> {
    if (this.database.dialect === 'postgres') return this.database.run<Row>(statement, parameters);
    return this.database.transaction((tx) => this.database.run<Row>(statement, parameters, tx));
  }

  /**
   * Marks the email verified at `at`, only while the account is active and still has `email`;
   * whether it did. Through TypeORM (this instance's cache lets go at commit); the auth-state
   * trigger on users announces the change to the others (migration 1764000000011).
   */
  async markEmailVerified(tx: Transaction, id: string, email: string, at: Date): Promise<boolean> {
    const { affected } = await this.database
      .manager(tx)
      .update(User, { id, email, isActive: true }, { emailVerifiedAt: at });
    return (affected ?? 0) > 0;
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}
