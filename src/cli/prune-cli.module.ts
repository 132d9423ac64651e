import { MetricsModule } from '../metrics/metrics.module';
import { Module } from '@nestjs/common';
import { CommonModule } from '../common/common.module';
import { AppConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { RetentionModule } from '../retention/retention.module';

/**
 * `prune`: the configuration, the database (pending migrations run, as in the server) and the
 * retention job. In a file of its own for the reason ReadOnlyCliModule gives.
 */
@Module({
  imports: [
    AppConfigModule,
    CommonModule,
    MetricsModule,
    DatabaseModule.forRoot(),
    RetentionModule,
  ],
})
export class PruneCliModule {}
