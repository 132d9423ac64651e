import { Global, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MailOutboxRepository } from './mail-outbox.repository';
import { MailOutbox } from './mail-outbox.service';
import { MailTransport } from './mail-transport';
import { OutboxWorker } from './outbox-worker';

/**
 * Mail (SPEC §8): {@link MailOutbox} for every feature that sends mail (global: the flows only
 * queue), and the worker that delivers the outbox, in every server instance. The CLI contexts
 * do not import this module; one that queues mail imports {@link MailOutboxModule} (no worker:
 * a running server delivers what it queued).
 */
@Global()
@Module({
  imports: [AuditModule],
  providers: [MailOutboxRepository, MailOutbox, MailTransport, OutboxWorker],
  exports: [MailOutbox],
})
export class MailModule {}

/** Queueing only, for contexts that must not deliver (the CLI). */
@Global()
@Module({
  providers: [MailOutboxRepository, MailOutbox],
  exports: [MailOutbox],
})
export class MailOutboxModule {}
