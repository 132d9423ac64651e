import { Injectable } from '@nestjs/common';
import type { UserWithRoles } from './account-rows';
import { PasswordHasher } from '../passwords/password-hasher.service';
import { isBcryptHash } from '../passwords/legacy-bcrypt';
import { assertPasswordAccepted } from '../passwords/password-policy';
import { Transactions, type Transaction } from '../database/database';
import { emailTaken, translateAccountConflict, usernameTaken } from './account-conflict';
import { canonicalEmail, canonicalLoginName, canonicalUsername } from './canonical-identity';
import { RoleName } from '../access/role-name';
import { type LoginAccount, UsersRepository } from './users.repository';

export interface NewAccount {
  username: string;
  email: string;
  password: string;
}

/** An account made elsewhere (import-users): canonical names and a bcrypt hash, not a password. */
export interface ImportedAccount {
  username: string;
  email: string;
  isActive: boolean;
  passwordHash: string;
}

export type { UserWithRoles } from './account-rows';
export type { LoginAccount } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly repository: UsersRepository,
    private readonly transactions: Transactions,
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
      audit?: (tx: Transaction, created: UserWithRoles) => Promise<void>;
    } = {},
  ): Promise<UserWithRoles> {
    const username = canonicalUsername(input.username);
    const email = canonicalEmail(input.email);
    assertPasswordAccepted(input.password, { username, email }, 'password');
    // Answer the common case before paying for a hash; the constraint still decides races.
    const clash = await this.repository.findNameClash({ username, email });
    if (clash !== null) throw clash === 'username' ? usernameTaken() : emailTaken();
    const passwordHash = await this.hasher.hash(input.password);

    try {
      return await this.transactions.run(async (tx) => {
        const user = await this.repository.insertAccount(tx, { username, email, passwordHash });
        await this.repository.grantRoles(tx, user.id, roles);
        const created = { user, roles: [...roles] };
        await options.audit?.(tx, created);
        return created;
      });
    } catch (error) {
      throw translateAccountConflict(error);
    }
  }

  /** Of these canonical usernames and emails, the ones an account already holds. */
  findTakenNames(names: {
    usernames: string[];
    emails: string[];
  }): Promise<{ usernames: Set<string>; emails: Set<string> }> {
    return this.repository.findTakenNames(names);
  }

  /**
   * Creates imported accounts, each granted `roles`, in one transaction: all of them or, on any
   * failure (a name taken meanwhile: 409), none. Their bcrypt hashes are stored as they are and
   * replaced by argon2id at each account's first login (PasswordHasher.needsRehash).
   */
  async importAccounts(
    accounts: ImportedAccount[],
    roles: RoleName[],
    options: {
      /** Called inside the transaction after the inserts, e.g. to write the audit events. */
      audit?: (tx: Transaction, created: UserWithRoles[]) => Promise<void>;
    } = {},
  ): Promise<UserWithRoles[]> {
    // The importer checked every row; this keeps any other caller from storing a plain value.
    const refused = accounts.find((account) => !isBcryptHash(account.passwordHash));
    if (refused !== undefined) throw new Error(`Not a bcrypt hash for ${refused.username}`);
    try {
      return await this.transactions.run(async (tx) => {
        const created: UserWithRoles[] = [];
        for (const account of accounts) {
          const user = await this.repository.insertAccount(tx, {
            username: canonicalUsername(account.username),
            email: canonicalEmail(account.email),
            passwordHash: account.passwordHash,
            isActive: account.isActive,
          });
          await this.repository.grantRoles(tx, user.id, roles);
          created.push({ user, roles: [...roles] });
        }
        await options.audit?.(tx, created);
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
  findLoginAccount(loginName: string): Promise<LoginAccount | null> {
    const { kind, value } = canonicalLoginName(loginName);
    return this.repository.findLoginAccount(kind, value);
  }

  /** A user with their roles; null if there is none. */
  findWithRoles(id: string): Promise<UserWithRoles | null> {
    return this.repository.findWithRoles(id);
  }

  /** {@link findWithRoles} inside `tx`. */
  findWithRolesIn(tx: Transaction, id: string): Promise<UserWithRoles | null> {
    return this.repository.findWithRoles(id, tx);
  }

  /** Re-hash with current parameters; not a password change (tokens stay valid). */
  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.repository.updatePasswordHash(id, passwordHash);
  }

  /**
   * Moves the account to a confirmed new email, verified at `verifiedAt` (the confirmation mailed
   * to it proved it). The unique index decides a race with another account taking it: 409.
   */
  async changeEmail(tx: Transaction, id: string, email: string, verifiedAt: Date): Promise<void> {
    try {
      await this.repository.updateNames(tx, id, { email });
      await this.repository.setEmailVerifiedAt(tx, id, verifiedAt);
    } catch (error) {
      throw translateAccountConflict(error);
    }
  }

  /** The id of the account holding this canonical email, if any. */
  findIdByEmail(tx: Transaction, email: string): Promise<string | null> {
    return this.repository.findIdByName(tx, 'email', email);
  }

  /**
   * A password change: tokens issued before it stop working. Tokens carry whole seconds and one
   * issued after a change has `iat` past the change's second (AccessTokenService.issue), so each
   * change moves `password_changed_at` at least one second past the previous change: a token
   * issued between two changes within one second dies with the second.
   */
  async setPassword(
    tx: Transaction,
    id: string,
    passwordHash: string,
    changedAt: Date,
  ): Promise<void> {
    await this.repository.setPassword(tx, id, passwordHash, changedAt);
  }

  /** A verification link was followed: see UsersRepository.markEmailVerified. */
  markEmailVerified(tx: Transaction, id: string, email: string, at: Date): Promise<boolean> {
    return this.repository.markEmailVerified(tx, id, email, at);
  }

  /** Clears failed logins and the lock (a password reset proves the owner). */
  resetLockout(tx: Transaction, id: string): Promise<void> {
    return this.repository.resetLockout(tx, id);
  }
}
