import { MetricsModule } from '../metrics/metrics.module';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CommonModule } from '../common/common.module';
import { AppConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { UsersModule } from '../users/users.module';

/**
 * What the admin CLI needs of the service: the same configuration, database (pending migrations
 * run at boot, as in the server) and account rules, without HTTP or the auth pipeline.
 */
@Module({
  imports: [
    AppConfigModule,
    CommonModule,
    MetricsModule,
    DatabaseModule.forRoot(),
    UsersModule,
    AuditModule,
  ],
})
export class CliModule {}
