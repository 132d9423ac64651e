import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { RetentionRepository } from './retention.repository';
import { RetentionService } from './retention.service';

/** The pruning job (SPEC §12): scheduled in every instance, one pass via `npm run cli -- prune`. */
@Module({
  imports: [AuditModule],
  providers: [RetentionRepository, RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
