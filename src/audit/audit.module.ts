import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditKeyring } from './audit-key';
import { AuditService } from './audit.service';

/**
 * The audit log: AuditService (append, verify, list) and GET /audit-events. Needs only the
 * app's DataSource, the global Clock and the configuration (its key), so any feature module
 * can import it.
 */
@Module({
  controllers: [AuditController],
  providers: [AuditKeyring, AuditService],
  exports: [AuditService],
})
export class AuditModule {}
