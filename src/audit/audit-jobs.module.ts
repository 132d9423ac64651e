import { Module } from '@nestjs/common';
import { AuditHeadLogger } from './audit-head-logger';
import { AuditModule } from './audit.module';
import { RefusalAudit } from './refusal-audit';

/**
 * What the server adds to the audit log on its own (not the CLI): aggregated refusals of the
 * HTTP API and the periodic log line of the chain head.
 */
@Module({
  imports: [AuditModule],
  providers: [RefusalAudit, AuditHeadLogger],
  exports: [RefusalAudit, AuditHeadLogger],
})
export class AuditJobsModule {}
