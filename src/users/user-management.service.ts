import { Injectable } from '@nestjs/common';
import { AuditService, NewAuditEvent } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import type { RequestContext } from '../common/request-context';
import { DomainError } from '../common/errors/domain-error';
import { Transactions, type Transaction } from '../database/database';
import { emailTaken, translateAccountConflict, usernameTaken } from './account-conflict';
import type { UserWithRoles } from './account-rows';
import type { ListUsersQueryDto } from './dto/list-users.dto';
import { Role } from './entities/role.entity';
import { RoleName } from '../access/role-name';
import { AccountEvents } from './account-events';
import { UsersRepository } from './users.repository';

export interface UserPage {
  items: UserWithRoles[];
  total: number;
  page: number;
  limit: number;
}

/**
 * Administration of accounts: listing, profile and activation changes, deletion and roles.
 * Every change and its audit event commit together; changes that can shrink the set of active
 * administrators keep at least one.
 */
@Injectable()
export class UserManagementService {
  constructor(
    private readonly users: UsersRepository,
    private readonly transactions: Transactions,
    private readonly accountEvents: AccountEvents,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async list(query: ListUsersQueryDto): Promise<UserPage> {
    // Names are stored lower-case, so a lower-cased pattern is a case-insensitive match.
    const q = query.q?.trim().normalize('NFKC').toLowerCase();
    const { items, total } = await this.users.list({
      q: q === '' ? undefined : q,
      isActive: query.isActive,
      role: query.role,
      sort: query.sort,
      page: query.page,
      limit: query.limit,
    });
    return { items, total, page: query.page, limit: query.limit };
  }

  async get(id: string): Promise<UserWithRoles> {
    return this.load(undefined, id);
  }

  /**
   * Changes username, email and (for administrators) activation. Deactivation ends every session
   * of the user in the same transaction.
   */
  async update(
    /** null: the command line (the audit event names no account as its actor). */
    actorId: string | null,
    id: string,
    changes: { username?: string; email?: string; isActive?: boolean; emailVerified?: boolean },
    context: RequestContext,
  ): Promise<UserWithRoles> {
    try {
      return await this.transactions.run(async (tx) => {
        if (changes.isActive === false) await this.users.lockAdminSet(tx);
        const { user } = await this.load(tx, id);
        // Events are recorded last: the audit append holds a lock until commit.
        const events: NewAuditEvent[] = [];
        const renamed: Record<string, { from: string; to: string }> = {};
        for (const field of ['username', 'email'] as const) {
          const value = changes[field];
          if (value !== undefined && value !== user[field])
            renamed[field] = { from: user[field], to: value };
        }
        const verified = user.emailVerifiedAt !== null;
        // A new address is unverified until proven (or an administrator says so in the same change).
        const nowVerified =
          changes.emailVerified ?? (renamed.email !== undefined ? false : verified);
        const changed: Record<string, { from: unknown; to: unknown }> = { ...renamed };
        if (nowVerified !== verified) changed.emailVerified = { from: verified, to: nowVerified };
        if (Object.keys(renamed).length > 0) {
          await this.assertNamesFree(tx, id, changes);
          await this.users.updateNames(tx, id, changes);
        }
        if (nowVerified !== verified || (renamed.email !== undefined && nowVerified)) {
          await this.users.setEmailVerifiedAt(tx, id, nowVerified ? this.clock.now() : null);
        }
        if (Object.keys(changed).length > 0) {
          events.push({
            type: 'user.updated',
            actorId,
            subjectUserId: id,
            details: { changes: changed },
          });
        }
        if (changes.isActive !== undefined && changes.isActive !== user.isActive) {
          if (!changes.isActive) {
            await this.assertNotLastAdmin(tx, id);
            await this.accountEvents.publish(tx, { type: 'deactivated', userId: id });
          }
          await this.users.setActive(tx, id, changes.isActive);
          events.push({
            type: changes.isActive ? 'user.activated' : 'user.deactivated',
            actorId,
            subjectUserId: id,
          });
        }
        const updated = await this.load(tx, id);
        for (const event of events) await this.audit.record(tx, event, context);
        return updated;
      });
    } catch (error) {
      throw translateAccountConflict(error);
    }
  }

  /** Deletes a user; their role grants and sessions go with them (foreign keys cascade). */
  async remove(actorId: string, id: string, context: RequestContext): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.users.lockAdminSet(tx);
      const { user, roles } = await this.load(tx, id);
      await this.assertNotLastAdmin(tx, id);
      await this.users.delete(tx, id);
      await this.audit.record(
        tx,
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
    return this.transactions.run(async (tx) => {
      const role = await this.findRole(tx, roleName);
      const current = await this.load(tx, id);
      if (current.roles.includes(role.name)) return current;
      // A concurrent grant may have inserted the row since the read: then this one is a no-op
      // (no unique violation, no event), as if it had come second.
      const granted = await this.users.grantRole(tx, id, role.id);
      const updated = await this.load(tx, id);
      if (!granted) return updated;
      await this.audit.record(
        tx,
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
    return this.transactions.run(async (tx) => {
      const role = await this.findRole(tx, roleName);
      if (role.name === RoleName.Admin) await this.users.lockAdminSet(tx);
      const current = await this.load(tx, id);
      if (!current.roles.includes(role.name)) return current;
      if (role.name === RoleName.Admin) await this.assertNotLastAdmin(tx, id);
      // A concurrent revocation may have deleted the row since the read: nothing changed here.
      const revoked = await this.users.revokeRole(tx, id, role.id);
      const updated = await this.load(tx, id);
      if (!revoked) return updated;
      await this.audit.record(
        tx,
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
   * Refuses (409) when `id` is an active administrator and the only one. Run after
   * `lockAdminSet` in the same transaction, so concurrent changes see each other's result.
   */
  private async assertNotLastAdmin(tx: Transaction, id: string): Promise<void> {
    const activeAdmins = await this.users.findActiveAdminIds(tx);
    if (activeAdmins.length <= 1 && activeAdmins.includes(id)) {
      throw new DomainError(
        'last_admin',
        'The last active administrator cannot be demoted, deactivated or deleted',
      );
    }
  }

  private async assertNamesFree(
    tx: Transaction,
    id: string,
    names: { username?: string; email?: string },
  ): Promise<void> {
    for (const field of ['username', 'email'] as const) {
      const value = names[field];
      if (value === undefined) continue;
      const holder = await this.users.findIdByName(tx, field, value);
      if (holder !== null && holder !== id) {
        throw field === 'username' ? usernameTaken() : emailTaken();
      }
    }
  }

  private async findRole(tx: Transaction, name: string): Promise<Role> {
    const role = Object.values(RoleName).includes(name as RoleName)
      ? await this.users.findRole(tx, name as RoleName)
      : null;
    if (role === null) throw new DomainError('role_not_found', 'No such role');
    return role;
  }

  private async load(tx: Transaction | undefined, id: string): Promise<UserWithRoles> {
    const account = await this.users.findWithRoles(id, tx);
    if (account === null) throw new DomainError('user_not_found', 'No such user');
    return account;
  }
}
