import type { Clock } from '../common/clock/clock';
import assert from 'node:assert/strict';
import { userEntity } from '../../test/helpers/user-entity';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import type { AuditService, NewAuditEvent } from '../audit/audit.service';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { DomainError, PROBLEM_TYPES } from '../common/errors/domain-error';
import type { Transaction, Transactions } from '../database/database';
import { AccountEvents } from './account-events';
import type { UserWithRoles } from './account-rows';
import { Role } from './entities/role.entity';
import { RoleName } from '../access/role-name';
import { User } from './entities/user.entity';
import { UserManagementService } from './user-management.service';
import type { UsersRepository } from './users.repository';

const ROLES: Role[] = Object.values(RoleName).map((name, index) =>
  Object.assign(new Role(), { id: index + 1, name }),
);

/** Users and their role grants in memory, as users.repository.ts reads and writes them. */
class InMemoryUsers {
  readonly users = new Map<string, User>();
  readonly grants = new Map<string, Set<number>>();

  add(username: string, roles: RoleName[], isActive = true): string {
    const now = new Date();
    const id = randomUUID();
    this.users.set(id, userEntity(username, { id, isActive, createdAt: now }));
    this.grants.set(id, new Set(roles.map((name) => roleNamed(name).id)));
    return id;
  }

  rolesOf(id: string): RoleName[] {
    return [...(this.grants.get(id) ?? [])].map((roleId) => roleWithId(roleId).name).sort();
  }

  findWithRoles(id: string): Promise<UserWithRoles | null> {
    const user = this.users.get(id);
    return Promise.resolve(
      user === undefined
        ? null
        : { user: Object.assign(new User(), user), roles: this.rolesOf(id) },
    );
  }

  lockAdminSet(): Promise<void> {
    return Promise.resolve();
  }

  findActiveAdminIds(): Promise<string[]> {
    const admin = roleNamed(RoleName.Admin).id;
    return Promise.resolve(
      [...this.users.values()]
        .filter((user) => user.isActive && this.grants.get(user.id)?.has(admin) === true)
        .map((user) => user.id),
    );
  }

  findRole(_tx: Transaction, name: RoleName): Promise<Role | null> {
    return Promise.resolve(ROLES.find((role) => role.name === name) ?? null);
  }

  grantRole(_tx: Transaction, userId: string, roleId: number): Promise<boolean> {
    const grants = this.grants.get(userId);
    if (grants === undefined || grants.has(roleId)) return Promise.resolve(false);
    grants.add(roleId);
    return Promise.resolve(true);
  }

  revokeRole(_tx: Transaction, userId: string, roleId: number): Promise<boolean> {
    return Promise.resolve(this.grants.get(userId)?.delete(roleId) === true);
  }

  setEmailVerifiedAt(_tx: Transaction, id: string, at: Date | null): Promise<void> {
    const user = this.users.get(id);
    if (user !== undefined) user.emailVerifiedAt = at;
    return Promise.resolve();
  }

  setActive(_tx: Transaction, id: string, isActive: boolean): Promise<void> {
    const user = this.users.get(id);
    if (user !== undefined) user.isActive = isActive;
    return Promise.resolve();
  }

  delete(_tx: Transaction, id: string): Promise<void> {
    this.users.delete(id);
    this.grants.delete(id);
    return Promise.resolve();
  }
}

function roleNamed(name: RoleName): Role {
  const role = ROLES.find((candidate) => candidate.name === name);
  assert.ok(role);
  return role;
}

function roleWithId(id: number): Role {
  const role = ROLES.find((candidate) => candidate.id === id);
  assert.ok(role);
  return role;
}

const NOW = new Date('2026-12-02T08:00:00.000Z');

describe('UserManagementService', () => {
  let users: InMemoryUsers;
  let events: NewAuditEvent[];
  let management: UserManagementService;
  let admin: string;
  let published: string[];

  beforeEach(() => {
    users = new InMemoryUsers();
    events = [];
    const transactions = {
      run: <T>(work: (tx: Transaction) => Promise<T>) => work({} as Transaction),
    } as unknown as Transactions;
    const accountEvents = new AccountEvents();
    published = [];
    accountEvents.subscribe((_tx, event) => {
      published.push(`${event.type}:${event.userId}`);
      return Promise.resolve();
    });
    const audit = {
      record: (_tx: Transaction, event: NewAuditEvent) => {
        events.push(event);
        return Promise.resolve();
      },
    } as unknown as AuditService;
    management = new UserManagementService(
      users as unknown as UsersRepository,
      transactions,
      accountEvents,
      audit,
      { now: () => NOW } as Clock,
    );
    admin = users.add('root', [RoleName.User, RoleName.Admin]);
  });

  async function refusal(change: Promise<unknown>): Promise<DomainError> {
    const error = await change.then(
      () => assert.fail('the change went through'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof DomainError);
    return error;
  }

  /** Each change that can shrink the set of active administrators, and how to see it applied. */
  const adminChanges: Record<
    string,
    {
      apply: (service: UserManagementService, id: string) => Promise<unknown>;
      applied: (repository: InMemoryUsers, id: string) => boolean;
    }
  > = {
    'losing ROLE_ADMIN': {
      apply: (service, id) => service.revokeRole(id, id, RoleName.Admin, NO_REQUEST_CONTEXT),
      applied: (repository, id) => !repository.rolesOf(id).includes(RoleName.Admin),
    },
    'being deactivated': {
      apply: (service, id) => service.update(id, id, { isActive: false }, NO_REQUEST_CONTEXT),
      applied: (repository, id) => repository.users.get(id)?.isActive === false,
    },
    'being deleted': {
      apply: (service, id) => service.remove(id, id, NO_REQUEST_CONTEXT),
      applied: (repository, id) => !repository.users.has(id),
    },
  };

  for (const [change, { apply, applied }] of Object.entries(adminChanges)) {
    it(`refuses the last active administrator ${change} (409)`, async () => {
      // An inactive administrator does not count.
      users.add('dormant', [RoleName.Admin], false);

      const error = await refusal(apply(management, admin));

      assert.equal(error.code, 'last_admin');
      assert.equal(PROBLEM_TYPES[error.code].status, 409);
      assert.equal(applied(users, admin), false);
      assert.ok(users.users.get(admin)?.isActive);
      assert.ok(users.rolesOf(admin).includes(RoleName.Admin));
      assert.deepEqual(events, []);
    });

    it(`allows an administrator ${change} while another is active`, async () => {
      users.add('second', [RoleName.Admin]);

      await apply(management, admin);

      assert.equal(applied(users, admin), true);
      assert.equal(events.length, 1);
    });
  }

  it('leaves a non-administrator free to be deactivated when one admin is left', async () => {
    const alice = users.add('alice', [RoleName.User]);
    const updated = await management.update(admin, alice, { isActive: false }, NO_REQUEST_CONTEXT);
    assert.equal(updated.user.isActive, false);
    // Sessions listen for this to end the account's sessions in the same transaction.
    assert.deepEqual(published, [`deactivated:${alice}`]);
  });

  it('grants a role once: a second grant changes nothing and records nothing', async () => {
    const alice = users.add('alice', [RoleName.User]);

    const first = await management.grantRole(admin, alice, RoleName.Moderator, NO_REQUEST_CONTEXT);
    const second = await management.grantRole(admin, alice, RoleName.Moderator, NO_REQUEST_CONTEXT);

    assert.deepEqual(first.roles, [RoleName.Moderator, RoleName.User]);
    assert.deepEqual(second.roles, first.roles);
    assert.deepEqual(users.rolesOf(alice), [RoleName.Moderator, RoleName.User]);
    assert.deepEqual(
      events.map((event) => event.type),
      ['role.granted'],
    );
  });

  it('lets an administrator mark an email verified or not, recorded as a change', async () => {
    const alice = users.add('alice', [RoleName.User]);

    const verified = await management.update(
      admin,
      alice,
      { emailVerified: true },
      NO_REQUEST_CONTEXT,
    );
    assert.deepEqual(verified.user.emailVerifiedAt, NOW);
    // Saying it again changes nothing and records nothing.
    await management.update(admin, alice, { emailVerified: true }, NO_REQUEST_CONTEXT);
    await management.update(admin, alice, { emailVerified: false }, NO_REQUEST_CONTEXT);
    assert.equal(users.users.get(alice)?.emailVerifiedAt, null);
    assert.deepEqual(
      events.map((event) => event.details),
      [
        { changes: { emailVerified: { from: false, to: true } } },
        { changes: { emailVerified: { from: true, to: false } } },
      ],
    );
  });

  it('refuses a role that does not exist', async () => {
    const error = await refusal(
      management.grantRole(admin, admin, 'ROLE_ROOT', NO_REQUEST_CONTEXT),
    );
    assert.equal(error.code, 'role_not_found');
  });
});
