import { Module } from '@nestjs/common';
import { MailOutboxModule } from '../mail/mail.module';
import { MfaModule } from '../mfa/mfa.module';
import { CliModule } from './cli.module';

/**
 * The CLI with the second-factor services: the reset (its notice is queued in the outbox, and
 * a running server delivers it) and the re-sealing of secrets under a new key.
 */
@Module({ imports: [CliModule, MailOutboxModule, MfaModule] })
export class MfaCliModule {}
