import { Global, Module } from '@nestjs/common';
import { MailOutboxRepository } from './mail-outbox.repository';
import { MailOutbox } from './mail-outbox.service';

/**
 * Mail (SPEC §8): {@link MailOutbox} for every feature that sends mail (global: the flows only
 * queue), and the worker that delivers the outbox in every server instance.
 */
@Global()
@Module({
  providers: [MailOutboxRepository, MailOutbox],
  exports: [MailOutbox],
})
export class MailModule {}
