import { Module } from '@nestjs/common';
import { AbuseModule } from '../abuse/abuse.module';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { AccountTokensRepository } from './account-tokens.repository';
import { AccountTokens } from './account-tokens.service';
import { EmailChangeController } from './email-change.controller';
import { EmailChangeService } from './email-change.service';

/**
 * The account flows mail drives (SPEC §8): the single-use tokens, and the verification and
 * password-reset routes. The mails go out through the global MailModule's outbox.
 */
@Module({
  imports: [UsersModule, AuditModule, AbuseModule],
  controllers: [EmailChangeController],
  providers: [AccountTokensRepository, AccountTokens, EmailChangeService],
  exports: [AccountTokens],
})
export class AccountLifecycleModule {}
