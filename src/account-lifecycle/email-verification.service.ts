import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { RateLimiterService } from '../abuse/rate-limiter.service';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { type Transaction, Transactions } from '../database/database';
import { MailOutbox } from '../mail/mail-outbox.service';
import type { User } from '../users/entities/user.entity';
import { UsersService, type UserWithRoles } from '../users/users.service';
import { invalidAccountToken } from './account-token-errors';
import { AccountTokens } from './account-tokens.service';
import { emailVerificationMail } from './mails/email-verification.mail';

export const EMAIL_VERIFICATION_DISABLED_MESSAGE =
  'Email verification is not enabled on this service';

/**
 * Proof that an account's address is its user's (SPEC §8, EMAIL_VERIFICATION): a mailed
 * single-use token, queued with the registration; what `required` withholds until then is the
 * JwtAuthGuard's (docs/decisions.md, "Email verification modes").
 */
@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly tokens: AccountTokens,
    private readonly outbox: MailOutbox,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiterService,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.config.accountLifecycle.emailVerification !== 'off';
  }

  /**
   * Queues the verification mail for `user` in `tx` (registration's, or a resend's) and writes
   * `user.email_verification_sent`; nothing with EMAIL_VERIFICATION=off. A newer mail's token
   * replaces the older ones.
   */
  async queueMail(
    tx: Transaction,
    user: Pick<User, 'id' | 'username' | 'email'>,
    context: RequestContext,
    actorId: string | null = user.id,
  ): Promise<boolean> {
    if (!this.enabled) return false;
    const ttlSeconds = this.config.accountLifecycle.verificationTtlSeconds;
    const token = await this.tokens.issue(tx, {
      userId: user.id,
      purpose: 'email_verification',
      email: user.email,
      ttlSeconds,
    });
    const mail = emailVerificationMail(this.config, { username: user.username, token, ttlSeconds });
    await this.outbox.queue(tx, {
      kind: 'email-verification',
      to: user.email,
      userId: user.id,
      ...mail,
    });
    await this.audit.record(
      tx,
      {
        type: 'user.email_verification_sent',
        actorId,
        subjectUserId: user.id,
        details: { email: user.email },
      },
      context,
    );
    return true;
  }

  /**
   * Spends a verification token and marks the address it was mailed to verified, if the account
   * (active) still has that address; the account after it. Anything else: invalid_account_token.
   */
  async verify(token: string, context: RequestContext): Promise<UserWithRoles> {
    this.ensureEnabled();
    const userId = await this.transactions.run(async (tx) => {
      const spent = await this.tokens.consume(tx, 'email_verification', token);
      if (spent === null) throw invalidAccountToken();
      const marked = await this.users.markEmailVerified(
        tx,
        spent.userId,
        spent.email,
        this.clock.now(),
      );
      if (!marked) throw invalidAccountToken();
      await this.audit.record(
        tx,
        {
          type: 'user.email_verified',
          actorId: spent.userId,
          subjectUserId: spent.userId,
          details: { email: spent.email },
        },
        context,
      );
      return spent.userId;
    });
    const account = await this.users.findWithRoles(userId);
    // Deleted right after: the verification did happen, but there is no account to show.
    if (account === null) throw invalidAccountToken();
    return account;
  }

  /** Mails a new link to the signed-in user (409 once verified; rate limited per account). */
  async resend(current: AuthenticatedUser, context: RequestContext): Promise<void> {
    this.ensureEnabled();
    const { user } = current.account;
    if (user.emailVerifiedAt !== null) {
      throw new DomainError('email_already_verified', 'The email address is already verified');
    }
    await this.limiter.consumeAccount({ userId: user.id });
    await this.transactions.run((tx) => this.queueMail(tx, user, context));
  }

  private ensureEnabled(): void {
    if (!this.enabled)
      throw new DomainError('feature_disabled', EMAIL_VERIFICATION_DISABLED_MESSAGE);
  }
}
