import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { CommonModule } from '../common/common.module';
import { AppConfig } from '../config/app-config';
import { AppConfigModule } from '../config/config.module';
import { buildDataSourceOptions } from '../database/data-source-options';

/**
 * For commands that only read (audit:verify): the same database, but no migrations run, so an
 * auditor can use a read-only database role and the check changes nothing it checks. In a file
 * of its own: beside CliModule, loading either would register two default DataSources (Nest
 * warns on stdout).
 */
@Module({
  imports: [
    AppConfigModule,
    CommonModule,
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions(config, { runMigrations: false }),
        retryAttempts: 0,
      }),
    }),
    AuditModule,
  ],
})
export class ReadOnlyCliModule {}
