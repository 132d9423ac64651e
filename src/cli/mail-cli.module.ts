import { Module } from '@nestjs/common';
import { AccountLifecycleModule } from '../account-lifecycle/account-lifecycle.module';
import { MailOutboxModule } from '../mail/mail.module';
import { CliModule } from './cli.module';

/**
 * The CLI with the account mail flows: mails are queued in the outbox (no worker here; a running
 * server delivers them).
 */
@Module({ imports: [CliModule, MailOutboxModule, AccountLifecycleModule] })
export class MailCliModule {}
