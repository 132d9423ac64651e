import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/**
 * The audit log: AuditService (append, verify, list) and GET /audit-events. Needs only the
 * app's DataSource and the global Clock, so any feature module can import it.
 */
@Module({
  controllers: [AuditController],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
