import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { RateLimiterService } from '../abuse/rate-limiter.service';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { type Transaction, Transactions } from '../database/database';
import { MailOutbox } from '../mail/mail-outbox.service';
import { PasswordHasher } from '../passwords/password-hasher.service';
import { assertPasswordAccepted } from '../passwords/password-policy';
import { SessionsService } from '../sessions/sessions.service';
import type { User } from '../users/entities/user.entity';
import { UsersService } from '../users/users.service';
import { invalidAccountToken } from './account-token-errors';
import { ACCOUNT_TOKEN_PURPOSES } from './account-token.entity';
import { AccountTokens } from './account-tokens.service';
import { passwordChangedMail } from './mails/password-changed.mail';
import { passwordResetMail } from './mails/password-reset.mail';

export const PASSWORD_RESET_DISABLED_MESSAGE = 'Password reset is not enabled on this service';

type MailedUser = Pick<User, 'id' | 'username' | 'email'>;

/**
 * Forgotten passwords (SPEC §8, PASSWORD_RESET_ENABLED): a mailed single-use token that sets a
 * new password, ends every session, and clears the lockout. Asking for one says nothing about
 * whether the account exists (docs/decisions.md, "Password reset without enumeration").
 */
@Injectable()
export class PasswordResetService implements OnModuleDestroy {
  private readonly logger = new Logger(PasswordResetService.name);
  /** The mails `forgot` queues after answering: awaited at shutdown. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly tokens: AccountTokens,
    private readonly outbox: MailOutbox,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiterService,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.config.accountLifecycle.passwordReset;
  }

  /**
   * "Forgot password": the same work up to the answer whether or not an account has `email`
   * (one lookup, one account-bucket count), then for an active account the token and the mail
   * in the background, so neither the answer nor its timing depends on the account.
   */
  async forgot(email: string, context: RequestContext): Promise<void> {
    this.ensureEnabled();
    const found = await this.users.findLoginAccount(email);
    await this.limiter.consumeAccount(
      found === null ? { loginName: email } : { userId: found.account.user.id },
    );
    if (found === null) return;
    const { user } = found.account;
    // After the answer is written: started at once, its first statements would delay it.
    const work = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.requested(user, context))
      .catch((error: unknown) => {
        this.logger.error(
          `Password reset mail for user ${user.id} not queued: ${String(error)}`,
          error instanceof Error ? error.stack : undefined,
        );
      });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /**
   * An administrator's (or the CLI's, `actorId` null) reset mail for the user `userId`: 404 when
   * there is none, 409 for a deactivated account (its reset could not be used to log in).
   */
  async sendFor(actorId: string | null, userId: string, context: RequestContext): Promise<void> {
    this.ensureEnabled();
    await this.transactions.run(async (tx) => {
      const account = await this.users.findWithRolesIn(tx, userId);
      if (account === null) throw new DomainError('user_not_found', 'No such user');
      if (!account.user.isActive) {
        throw new DomainError('conflict', 'The account is deactivated; activate it first');
      }
      await this.queueResetMail(tx, account.user, context, actorId);
    });
  }

  /**
   * Issues a reset token for `user` and queues its mail in `tx`, with
   * `user.password_reset_requested` (the admin route passes its actor).
   */
  async queueResetMail(
    tx: Transaction,
    user: MailedUser,
    context: RequestContext,
    actorId: string | null,
  ): Promise<void> {
    const ttlSeconds = this.config.accountLifecycle.resetTtlSeconds;
    const token = await this.tokens.issue(tx, {
      userId: user.id,
      purpose: 'password_reset',
      email: user.email,
      ttlSeconds,
    });
    const mail = passwordResetMail(this.config, { username: user.username, token, ttlSeconds });
    await this.outbox.queue(tx, {
      kind: 'password-reset',
      to: user.email,
      userId: user.id,
      ...mail,
    });
    await this.audit.record(
      tx,
      {
        type: 'user.password_reset_requested',
        actorId,
        subjectUserId: user.id,
        details: { email: user.email, mailed: true },
      },
      context,
    );
  }

  /**
   * Sets a new password with a reset token: the policy applies (checked before the token is
   * spent, so a refused password leaves it usable); then in one transaction the token is spent,
   * the password set (older access tokens die), every session ended, the lockout cleared, other
   * reset tokens spent and the "password changed" notice queued.
   */
  async reset(token: string, newPassword: string, context: RequestContext): Promise<void> {
    this.ensureEnabled();
    const pending = await this.tokens.peek('password_reset', token);
    const account = pending === null ? null : await this.users.findWithRoles(pending.userId);
    if (
      pending === null ||
      account === null ||
      !account.user.isActive ||
      account.user.email !== pending.email
    ) {
      throw invalidAccountToken();
    }
    const { user } = account;
    assertPasswordAccepted(newPassword, user, 'newPassword');
    const passwordHash = await this.hasher.hash(newPassword);
    const changedAt = this.clock.now();
    await this.transactions.run(async (tx) => {
      // The token decides here: of two resets with it, the second finds it spent.
      const spent = await this.tokens.consume(tx, 'password_reset', token);
      if (spent === null || spent.userId !== user.id) throw invalidAccountToken();
      await this.users.setPassword(tx, user.id, passwordHash, changedAt);
      const revoked = await this.sessions.revokeAllForUser(user.id, 'password_change', { tx });
      await this.users.resetLockout(tx, user.id);
      await this.passwordChanged(tx, user, changedAt);
      // Last in the transaction: the audit append holds a lock until commit.
      await this.audit.record(
        tx,
        {
          type: 'user.password_reset',
          actorId: user.id,
          subjectUserId: user.id,
          details: { sessionsRevoked: revoked },
        },
        context,
      );
    });
  }

  /**
   * What every password change does besides setting it (a reset, POST /users/me/password):
   * every pending mailed link dies (SPEC §8: reset and verification tokens; and an email change,
   * asked for perhaps with the stolen password, must not survive the change its notice tells the
   * owner to make), and the owner is told by mail (when the service sends mail at all: some mail
   * flow is on).
   */
  async passwordChanged(tx: Transaction, user: MailedUser, changedAt: Date): Promise<void> {
    for (const purpose of ACCOUNT_TOKEN_PURPOSES) await this.tokens.spendAll(tx, user.id, purpose);
    if (!this.config.accountLifecycle.mailFlows) return;
    const mail = passwordChangedMail(this.config, { username: user.username, changedAt });
    await this.outbox.queue(tx, {
      kind: 'password-changed',
      to: user.email,
      userId: user.id,
      ...mail,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Off the request: the reset mail, or for an inactive account only the event. */
  private async requested(user: User, context: RequestContext): Promise<void> {
    await this.transactions.run(async (tx) => {
      if (user.isActive) {
        await this.queueResetMail(tx, user, context, null);
        return;
      }
      await this.audit.record(
        tx,
        {
          type: 'user.password_reset_requested',
          actorId: null,
          subjectUserId: user.id,
          details: { email: user.email, mailed: false, reason: 'inactive' },
        },
        context,
      );
    });
  }

  private ensureEnabled(): void {
    if (!this.enabled) throw new DomainError('feature_disabled', PASSWORD_RESET_DISABLED_MESSAGE);
  }
}
