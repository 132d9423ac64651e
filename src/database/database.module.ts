import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { serialiseSqliteTransactions } from './sqlite-transactions';

/** The app's DataSource; pending migrations run before the app serves. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions(config, { runMigrations: true }),
        retryAttempts: config.isProduction ? 10 : 2,
        retryDelay: 1000,
      }),
      dataSourceFactory: async (options?: DataSourceOptions) =>
        serialiseSqliteTransactions(
          await new DataSource(options as DataSourceOptions).initialize(),
        ),
    }),
  ],
})
export class DatabaseModule {}
