import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { PasswordsModule } from '../passwords/passwords.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AccountTokensRepository } from './account-tokens.repository';
import { AccountTokens } from './account-tokens.service';
import { EmailVerificationController } from './email-verification.controller';
import { EmailVerificationService } from './email-verification.service';
import { PasswordResetController } from './password-reset.controller';
import { PasswordResetService } from './password-reset.service';

/**
 * The account flows mail drives (SPEC §8): the single-use tokens, email verification and
 * password reset. The mails go out through the global MailModule's outbox.
 */
@Module({
  imports: [UsersModule, SessionsModule, AuditModule, PasswordsModule],
  controllers: [EmailVerificationController, PasswordResetController],
  providers: [
    AccountTokensRepository,
    AccountTokens,
    EmailVerificationService,
    PasswordResetService,
  ],
  exports: [AccountTokens, EmailVerificationService, PasswordResetService],
})
export class AccountLifecycleModule {}
