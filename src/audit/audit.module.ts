import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditKeyring } from './audit-key';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/**
 * The audit log: AuditService (append, verify, list) over AuditRepository (its tables) and
 * GET /audit-events. Needs only the global Database, Clock and configuration (its key), so any
 * feature module can import it.
 */
@Module({
  controllers: [AuditController],
  providers: [AuditKeyring, AuditRepository, AuditService],
  exports: [AuditService],
})
export class AuditModule {}
