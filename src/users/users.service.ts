import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { type AccountRow, accountFromRows, type UserWithRoles } from './account-rows';
import { PasswordHasher } from '../passwords/password-hasher.service';
import { passwordPolicyViolations } from '../passwords/password-policy';
import { DomainError } from '../common/errors/domain-error';
import { runStatement, type Statement } from '../database/statements';
import { emailTaken, translateAccountConflict, usernameTaken } from './account-conflict';
import { canonicalEmail, canonicalLoginName, canonicalUsername } from './canonical-identity';
import { Role, RoleName } from './entities/role.entity';
import { UserRole } from './entities/user-role.entity';
import { User } from './entities/user.entity';

export interface NewAccount {
  username: string;
  email: string;
  password: string;
}

export type { UserWithRoles } from './account-rows';

/**
 * What a password check reads: the account, and apart from it (never handed further) the
 * password hash. The lockout state is not read: LockoutService.reserve decides on it atomically.
 */
export interface LoginAccount {
  account: UserWithRoles;
  passwordHash: string;
}

interface LoginRow extends AccountRow {
  password_hash: string;
}

// One parameterised query for everything a login reads: TypeORM's query building and entity
// hydration, and a second round trip for the roles, cost more than the query (docs/benchmarks.md).
const LOGIN_ACCOUNT_SELECT = `
  SELECT u.id, u.username, u.email, u.is_active, u.password_changed_at, u.created_at, u.updated_at,
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

@Injectable()
export class UsersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * Creates an account and grants `roles` in one transaction. The unique indexes decide races:
   * the loser of two simultaneous registrations gets a 409, never a 500 or a second row.
   */
  async createAccount(
    input: NewAccount,
    roles: RoleName[],
    options: {
      /** Called inside the transaction, e.g. to write the audit event of the creation. */
      audit?: (manager: EntityManager, created: UserWithRoles) => Promise<void>;
    } = {},
  ): Promise<UserWithRoles> {
    const username = canonicalUsername(input.username);
    const email = canonicalEmail(input.email);
    const violations = passwordPolicyViolations(input.password, { username, email });
    if (violations.length > 0) {
      throw new DomainError(
        'weak_password',
        'The password does not meet the password policy',
        violations.map((message) => ({ field: 'password', message: `password ${message}` })),
      );
    }
    // Answer the common case before paying for a hash; the constraint still decides races.
    await this.assertNamesAvailable(this.dataSource.manager, { username, email });
    const passwordHash = await this.hasher.hash(input.password);

    try {
      return await this.dataSource.transaction(async (manager) => {
        const user = await manager.save(manager.create(User, { username, email, passwordHash }));
        await this.grantRoles(manager, user.id, roles);
        const created = { user, roles: [...roles] };
        await options.audit?.(manager, created);
        return created;
      });
    } catch (error) {
      throw translateAccountConflict(error);
    }
  }

  /**
   * The account a login form names (username or email, as typed), with its roles and password
   * hash, in one query; null if there is none.
   */
  async findLoginAccount(loginName: string): Promise<LoginAccount | null> {
    const { kind, value } = canonicalLoginName(loginName);
    const { rows } = await runStatement<LoginRow>(this.dataSource, undefined, LOGIN_ACCOUNT[kind], {
      value,
    });
    const [first] = rows;
    if (first === undefined) return null;
    return { account: accountFromRows(rows, first), passwordHash: first.password_hash };
  }

  async findWithRoles(id: string): Promise<UserWithRoles | null> {
    // One query: findOne() with relations adds a DISTINCT pre-query, and this runs per request.
    const user = await this.dataSource
      .getRepository(User)
      .createQueryBuilder('user')
      .leftJoinAndSelect('user.userRoles', 'userRole')
      .leftJoinAndSelect('userRole.role', 'role')
      .where('user.id = :id', { id })
      .getOne();
    if (user === null) return null;
    const roles = user.userRoles.map((userRole) => userRole.role.name).sort();
    return { user, roles };
  }

  /** Re-hash with current parameters; not a password change (tokens stay valid). */
  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    // In a transaction so that on SQLite it queues behind others instead of joining one.
    await this.dataSource.transaction((manager) => manager.update(User, { id }, { passwordHash }));
  }

  /**
   * A password change: tokens issued before it stop working. Tokens carry whole seconds and one
   * issued after a change has `iat` past the change's second (AccessTokenService.issue), so each
   * change moves `password_changed_at` at least one second past the previous change: a token
   * issued between two changes within one second dies with the second.
   */
  async setPassword(
    manager: EntityManager,
    id: string,
    passwordHash: string,
    changedAt: Date,
  ): Promise<void> {
    // One statement: concurrent changes each move past the one committed before them.
    const later =
      this.dataSource.options.type === 'postgres'
        ? "GREATEST(CAST(:changedAt AS timestamptz), password_changed_at + INTERVAL '1 second')"
        : "MAX(:changedAt, COALESCE(strftime('%Y-%m-%d %H:%M:%f', password_changed_at, '+1 seconds'), :changedAt))";
    await manager
      .createQueryBuilder()
      .update(User)
      .set({ passwordHash, passwordChangedAt: () => later })
      .setParameters({ changedAt })
      .where('id = :id', { id })
      .execute();
  }

  private async assertNamesAvailable(
    manager: EntityManager,
    names: { username: string; email: string },
  ): Promise<void> {
    const clash = await manager.getRepository(User).findOne({
      where: [{ username: names.username }, { email: names.email }],
      select: { id: true, username: true, email: true },
    });
    if (clash === null) return;
    throw clash.username === names.username ? usernameTaken() : emailTaken();
  }

  private async grantRoles(
    manager: EntityManager,
    userId: string,
    names: RoleName[],
  ): Promise<void> {
    if (names.length === 0) return;
    const roles = await manager.getRepository(Role).findBy({ name: In(names) });
    if (roles.length !== names.length) {
      throw new Error(`Roles missing from the roles table: ${names.join(', ')}`);
    }
    await manager
      .getRepository(UserRole)
      .insert(roles.map((role) => ({ userId, roleId: role.id })));
  }
}
