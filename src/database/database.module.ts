import { PoolMetrics } from './pool-metrics';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { Database, Transactions } from './database';
import { serialiseSqliteTransactions } from './sqlite-transactions';

/**
 * The app's DataSource and the adapter every repository reaches it through. The app runs
 * pending migrations before it serves; read-only commands (audit:verify) run none, so an
 * auditor can use a read-only database role.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: { runMigrations: boolean } = { runMigrations: true }): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            ...buildDataSourceOptions(config, options),
            retryAttempts: !options.runMigrations ? 0 : config.isProduction ? 10 : 2,
            retryDelay: 1000,
          }),
          dataSourceFactory: async (dataSourceOptions?: DataSourceOptions) =>
            serialiseSqliteTransactions(
              await new DataSource(dataSourceOptions as DataSourceOptions).initialize(),
            ),
        }),
      ],
      providers: [Database, Transactions, PoolMetrics],
      exports: [Database, Transactions],
    };
  }
}
