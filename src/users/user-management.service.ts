import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, EntityManager } from 'typeorm';
import { AuditService, NewAuditEvent } from '../audit/audit.service';
import { SessionsService } from '../sessions/sessions.service';
import type { RequestContext } from '../common/request-context';
import { DomainError } from '../common/errors/domain-error';
import { runStatement, type Statement } from '../database/statements';
import { emailTaken, translateAccountConflict, usernameTaken } from './account-conflict';
import type { ListUsersQueryDto } from './dto/list-users.dto';
import { Role, RoleName } from './entities/role.entity';
import { UserRole } from './entities/user-role.entity';
import { User } from './entities/user.entity';
import type { UserWithRoles } from './users.service';

export interface UserPage {
  items: UserWithRoles[];
  total: number;
  page: number;
  limit: number;
}

// ON CONFLICT DO NOTHING: SQLite and PostgreSQL both take it; the row count says whether it granted.
const GRANT_ROLE: Statement = {
  name: 'user_management_grant_role',
  sql: 'INSERT INTO users_to_roles (user_id, role_id) VALUES (:userId, :roleId) ON CONFLICT DO NOTHING',
};

const SORT_COLUMNS = {
  createdAt: 'user.createdAt',
  username: 'user.username',
  email: 'user.email',
} as const;

/**
 * Administration of accounts: listing, profile and activation changes, deletion and roles.
 * Every change and its audit event commit together; changes that can shrink the set of active
 * administrators keep at least one.
 */
@Injectable()
export class UserManagementService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
  ) {}

  async list(query: ListUsersQueryDto): Promise<UserPage> {
    const qb = this.dataSource.getRepository(User).createQueryBuilder('user');
    if (query.q !== undefined && query.q.trim() !== '') {
      // Names are stored lower-case, so a lower-cased pattern is a case-insensitive match.
      const pattern = `%${escapeLike(query.q.trim().normalize('NFKC').toLowerCase())}%`;
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
    const users = await qb
      .orderBy(column, descending ? 'DESC' : 'ASC')
      // Ties broken by id, so pages never repeat or skip a user.
      .addOrderBy('user.id', 'ASC')
      .offset((query.page - 1) * query.limit)
      .limit(query.limit)
      .getMany();
    const roles = await this.rolesOf(
      this.dataSource.manager,
      users.map((user) => user.id),
    );
    return {
      items: users.map((user) => ({ user, roles: roles.get(user.id) ?? [] })),
      total,
      page: query.page,
      limit: query.limit,
    };
  }

  async get(id: string): Promise<UserWithRoles> {
    return this.load(this.dataSource.manager, id);
  }

  /**
   * Changes username, email and (for administrators) activation. Deactivation ends every session
   * of the user in the same transaction.
   */
  async update(
    actorId: string,
    id: string,
    changes: { username?: string; email?: string; isActive?: boolean },
    context: RequestContext,
  ): Promise<UserWithRoles> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        if (changes.isActive === false) await this.lockAdminSet(manager);
        const { user } = await this.load(manager, id);
        // Events are recorded last: the audit append holds a lock until commit.
        const events: NewAuditEvent[] = [];
        const renamed: Record<string, { from: string; to: string }> = {};
        for (const field of ['username', 'email'] as const) {
          const value = changes[field];
          if (value !== undefined && value !== user[field])
            renamed[field] = { from: user[field], to: value };
        }
        if (Object.keys(renamed).length > 0) {
          await this.assertNamesFree(manager, id, changes);
          await manager.update(User, { id }, { username: changes.username, email: changes.email });
          events.push({
            type: 'user.updated',
            actorId,
            subjectUserId: id,
            details: { changes: renamed },
          });
        }
        if (changes.isActive !== undefined && changes.isActive !== user.isActive) {
          if (!changes.isActive) {
            await this.assertNotLastAdmin(manager, id);
            await this.sessions.revokeAllForUser(id, 'user_deactivated', { manager });
          }
          await manager.update(User, { id }, { isActive: changes.isActive });
          events.push({
            type: changes.isActive ? 'user.activated' : 'user.deactivated',
            actorId,
            subjectUserId: id,
          });
        }
        const updated = await this.load(manager, id);
        for (const event of events) await this.audit.record(manager, event, context);
        return updated;
      });
    } catch (error) {
      throw translateAccountConflict(error);
    }
  }

  /** Deletes a user; their role grants and sessions go with them (foreign keys cascade). */
  async remove(actorId: string, id: string, context: RequestContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.lockAdminSet(manager);
      const { user, roles } = await this.load(manager, id);
      await this.assertNotLastAdmin(manager, id);
      await manager.delete(User, { id });
      await this.audit.record(
        manager,
        {
          type: 'user.deleted',
          actorId,
          subjectUserId: id,
          details: { username: user.username, email: user.email, roles },
        },
        context,
      );
    });
  }

  /** Grants a role; granting one the user already has changes nothing and records nothing. */
  async grantRole(
    actorId: string,
    id: string,
    roleName: string,
    context: RequestContext,
  ): Promise<UserWithRoles> {
    return this.dataSource.transaction(async (manager) => {
      const role = await this.findRole(manager, roleName);
      const current = await this.load(manager, id);
      if (current.roles.includes(role.name)) return current;
      // A concurrent grant may have inserted the row since the read: then this one is a no-op
      // (no unique violation, no event), as if it had come second.
      const { affected } = await runStatement(this.dataSource, manager, GRANT_ROLE, {
        userId: id,
        roleId: role.id,
      });
      const updated = await this.load(manager, id);
      if (affected === 0) return updated;
      await this.audit.record(
        manager,
        {
          type: 'role.granted',
          actorId,
          subjectUserId: id,
          details: { role: role.name },
        },
        context,
      );
      return updated;
    });
  }

  /**
   * Revokes a role; revoking one the user lacks changes nothing. The next request of that user
   * sees the change: the guards read roles from the database, not from the token.
   */
  async revokeRole(
    actorId: string,
    id: string,
    roleName: string,
    context: RequestContext,
  ): Promise<UserWithRoles> {
    return this.dataSource.transaction(async (manager) => {
      const role = await this.findRole(manager, roleName);
      if (role.name === RoleName.Admin) await this.lockAdminSet(manager);
      const current = await this.load(manager, id);
      if (!current.roles.includes(role.name)) return current;
      if (role.name === RoleName.Admin) await this.assertNotLastAdmin(manager, id);
      // A concurrent revocation may have deleted the row since the read: nothing changed here.
      const { affected } = await manager.delete(UserRole, { userId: id, roleId: role.id });
      const updated = await this.load(manager, id);
      if (affected === 0) return updated;
      await this.audit.record(
        manager,
        {
          type: 'role.revoked',
          actorId,
          subjectUserId: id,
          details: { role: role.name },
        },
        context,
      );
      return updated;
    });
  }

  /**
   * Serialises every change that can shrink the set of active administrators: on PostgreSQL by
   * locking the ROLE_ADMIN row, so two admins demoting each other at once run one after the
   * other and the second sees the first's result; SQLite runs one writer at a time anyway.
   */
  private async lockAdminSet(manager: EntityManager): Promise<void> {
    if (manager.connection.driver.options.type !== 'postgres') return;
    await manager
      .getRepository(Role)
      .createQueryBuilder('role')
      .setLock('pessimistic_write')
      .where('role.name = :name', { name: RoleName.Admin })
      .getOne();
  }

  /** Refuses (409) when `id` is an active administrator and the only one. */
  private async assertNotLastAdmin(manager: EntityManager, id: string): Promise<void> {
    const activeAdmins = await manager
      .getRepository(User)
      .createQueryBuilder('user')
      .innerJoin(UserRole, 'ur', 'ur.user_id = user.id')
      .innerJoin(Role, 'role', 'role.id = ur.role_id AND role.name = :admin', {
        admin: RoleName.Admin,
      })
      .where('user.isActive = :active', { active: true })
      .select('user.id', 'id')
      .getRawMany<{ id: string }>();
    if (activeAdmins.length <= 1 && activeAdmins.some((admin) => admin.id === id)) {
      throw new DomainError(
        'last_admin',
        'The last active administrator cannot be demoted, deactivated or deleted',
      );
    }
  }

  private async assertNamesFree(
    manager: EntityManager,
    id: string,
    names: { username?: string; email?: string },
  ): Promise<void> {
    for (const field of ['username', 'email'] as const) {
      const value = names[field];
      if (value === undefined) continue;
      const holder = await manager
        .getRepository(User)
        .findOne({ where: { [field]: value }, select: { id: true } });
      if (holder !== null && holder.id !== id) {
        throw field === 'username' ? usernameTaken() : emailTaken();
      }
    }
  }

  private async findRole(manager: EntityManager, name: string): Promise<Role> {
    const role = Object.values(RoleName).includes(name as RoleName)
      ? await manager.getRepository(Role).findOneBy({ name: name as RoleName })
      : null;
    if (role === null) throw new DomainError('role_not_found', 'No such role');
    return role;
  }

  private async load(manager: EntityManager, id: string): Promise<UserWithRoles> {
    const user = await manager.getRepository(User).findOneBy({ id });
    if (user === null) throw new DomainError('user_not_found', 'No such user');
    const roles = await this.rolesOf(manager, [id]);
    return { user, roles: roles.get(id) ?? [] };
  }

  private async rolesOf(
    manager: EntityManager,
    userIds: string[],
  ): Promise<Map<string, RoleName[]>> {
    const byUser = new Map<string, RoleName[]>();
    if (userIds.length === 0) return byUser;
    const grants = await manager
      .getRepository(UserRole)
      .createQueryBuilder('ur')
      .innerJoinAndSelect('ur.role', 'role')
      .where('ur.userId IN (:...userIds)', { userIds })
      .getMany();
    for (const grant of grants) {
      byUser.set(grant.userId, [...(byUser.get(grant.userId) ?? []), grant.role.name].sort());
    }
    return byUser;
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}
