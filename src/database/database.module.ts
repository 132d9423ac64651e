import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';

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
    }),
  ],
})
export class DatabaseModule {}
