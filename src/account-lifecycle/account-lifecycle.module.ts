import { Module } from '@nestjs/common';
import { AbuseModule } from '../abuse/abuse.module';
import { AuditModule } from '../audit/audit.module';
import { PasswordsModule } from '../passwords/passwords.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AdminPasswordResetController } from './admin-password-reset.controller';
import { AccountTokensRepository } from './account-tokens.repository';
import { AccountTokens } from './account-tokens.service';
import { EmailChangeController } from './email-change.controller';
import { EmailChangeService } from './email-change.service';
import { EmailVerificationController } from './email-verification.controller';
import { EmailVerificationService } from './email-verification.service';
import { PasswordResetController } from './password-reset.controller';
import { PasswordResetService } from './password-reset.service';

/**
 * The account flows mail drives (SPEC §8): the single-use tokens, email verification and
 * password reset. The mails go out through the global MailModule's outbox.
 */
@Module({
  imports: [UsersModule, SessionsModule, AuditModule, PasswordsModule, AbuseModule],
  controllers: [
    EmailVerificationController,
    PasswordResetController,
    EmailChangeController,
    AdminPasswordResetController,
  ],
  providers: [
    AccountTokensRepository,
    AccountTokens,
    EmailVerificationService,
    PasswordResetService,
    EmailChangeService,
  ],
  exports: [AccountTokens, EmailVerificationService, PasswordResetService, EmailChangeService],
})
export class AccountLifecycleModule {}
