import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { RateLimiterService } from '../abuse/rate-limiter.service';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { Transactions } from '../database/database';
import { MailOutbox } from '../mail/mail-outbox.service';
import { emailTaken } from '../users/account-conflict';
import { PasswordCheck } from '../users/password-check.service';
import { UsersService } from '../users/users.service';
import { invalidAccountToken } from './account-token-errors';
import { AccountTokens } from './account-tokens.service';
import { emailChangeConfirmationMail } from './mails/email-change-confirmation.mail';
import { emailChangeNoticeMail } from './mails/email-change-notice.mail';

/**
 * An email change (SPEC §8): the current password re-authenticates, the new address gets a link
 * that applies the change, the old one a notice. The change applies only on confirmation, and is
 * re-checked for uniqueness then.
 */
@Injectable()
export class EmailChangeService {
  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly passwords: PasswordCheck,
    private readonly tokens: AccountTokens,
    private readonly outbox: MailOutbox,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiterService,
    private readonly clock: Clock,
  ) {}

  async request(
    current: AuthenticatedUser,
    input: { newEmail: string; currentPassword: string },
    context: RequestContext,
  ): Promise<void> {
    this.assertOn();
    // Each request mails two addresses: bounded per account as well as per IP (the guard).
    await this.limiter.consumeAccount({ userId: current.id });
    const { user } = (await this.passwords.reauthenticate(current, input.currentPassword, context))
      .account;
    if (input.newEmail === user.email) {
      throw new DomainError('conflict', 'That is already the email of this account');
    }
    const ttlSeconds = this.config.accountLifecycle.emailChangeTtlSeconds;
    await this.transactions.run(async (tx) => {
      // Answered now for the common case; the unique index decides at confirmation.
      if ((await this.users.findIdByEmail(tx, input.newEmail)) !== null) throw emailTaken();
      const token = await this.tokens.issue(tx, {
        userId: user.id,
        purpose: 'email_change',
        email: input.newEmail,
        ttlSeconds,
      });
      await this.outbox.queue(tx, {
        kind: 'email-change-confirmation',
        to: input.newEmail,
        userId: user.id,
        ...emailChangeConfirmationMail(this.config, {
          username: user.username,
          newEmail: input.newEmail,
          token,
          ttlSeconds,
        }),
      });
      await this.outbox.queue(tx, {
        kind: 'email-change-notice',
        to: user.email,
        userId: user.id,
        ...emailChangeNoticeMail(this.config, {
          username: user.username,
          newEmail: input.newEmail,
        }),
      });
      await this.audit.record(
        tx,
        {
          type: 'user.email_change_requested',
          actorId: user.id,
          subjectUserId: user.id,
          details: { from: user.email, to: input.newEmail },
        },
        context,
      );
    });
  }

  /**
   * Applies the change a confirmation token names. A refusal (taken meanwhile: 409) rolls back,
   * so the token stays usable once the address is free again.
   */
  async confirm(token: string, context: RequestContext): Promise<void> {
    this.assertOn();
    await this.transactions.run(async (tx) => {
      const spent = await this.tokens.consume(tx, 'email_change', token);
      const account = spent === null ? null : await this.users.findWithRolesIn(tx, spent.userId);
      if (spent === null || account === null || !account.user.isActive) {
        throw invalidAccountToken();
      }
      const from = account.user.email;
      await this.users.changeEmail(tx, spent.userId, spent.email, this.clock.now());
      // Links mailed to the old address (a verification, a reset) no longer speak for the account.
      await this.tokens.spendAll(tx, spent.userId, 'email_verification');
      await this.tokens.spendAll(tx, spent.userId, 'password_reset');
      await this.audit.record(
        tx,
        {
          type: 'user.email_changed',
          actorId: spent.userId,
          subjectUserId: spent.userId,
          details: { from, to: spent.email },
        },
        context,
      );
    });
  }

  private assertOn(): void {
    if (!this.config.accountLifecycle.mailFlows) {
      // Without mail, PATCH /users/me changes the email directly.
      throw new DomainError(
        'feature_disabled',
        'Email changes by confirmation need a mail flow; use PATCH /users/me',
      );
    }
  }
}
