import { Module } from '@nestjs/common';
import { AccountTokensRepository } from './account-tokens.repository';
import { AccountTokens } from './account-tokens.service';

/**
 * The account flows mail drives (SPEC §8): the single-use tokens, and the verification and
 * password-reset routes. The mails go out through the global MailModule's outbox.
 */
@Module({
  providers: [AccountTokensRepository, AccountTokens],
  exports: [AccountTokens],
})
export class AccountLifecycleModule {}
