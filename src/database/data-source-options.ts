import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import type { AppConfig } from '../config/app-config';
import { ENTITIES } from './entities';

/**
 * The one place DataSource options are built: used by the app (DatabaseModule), the TypeORM CLI
 * (ormconfig.ts), the admin CLI and the tests. Schema changes happen only through migrations.
 */
export function buildDataSourceOptions(
  config: AppConfig,
  options: { runMigrations: boolean },
): DataSourceOptions {
  const common: Pick<
    DataSourceOptions,
    | 'entities'
    | 'migrations'
    | 'migrationsRun'
    | 'migrationsTableName'
    | 'migrationsTransactionMode'
    | 'synchronize'
    | 'logging'
  > = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: options.runMigrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // Not 'error': TypeORM would log failed queries with their parameters (password hashes).
    // Unexpected errors reach the exception filter, which logs them without parameters.
    logging: ['warn', 'migration'],
  };

  if (config.database.kind === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: config.database.url,
      // gen_random_uuid() is built into PostgreSQL 13+; the service needs no extension.
      uuidExtension: 'pgcrypto',
      installExtensions: false,
      extra: { max: 10, connectionTimeoutMillis: 5000 },
    };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.database.path,
    enableWAL: true,
    // Writers wait for each other instead of failing with SQLITE_BUSY.
    timeout: 5000,
  };
}
