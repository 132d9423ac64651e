import { MetricsModule } from '../metrics/metrics.module';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CommonModule } from '../common/common.module';
import { AppConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';

/**
 * For commands that only read (audit:verify): the same database, but no migrations run, so an
 * auditor can use a read-only database role and the check changes nothing it checks. In a file
 * of its own: beside CliModule, loading either would register two default data sources (Nest
 * warns on stdout).
 */
@Module({
  imports: [
    AppConfigModule,
    CommonModule,
    MetricsModule,
    DatabaseModule.forRoot({ runMigrations: false }),
    AuditModule,
  ],
})
export class ReadOnlyCliModule {}
