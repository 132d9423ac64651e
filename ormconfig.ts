import './src/config/dotenv';
import { DataSource } from 'typeorm';
import { configFromEnvironment } from './src/config/app-config';
import { buildDataSourceOptions } from './src/database/data-source-options';

// The DataSource the TypeORM CLI uses (`npm run migration:*`), built by the same code as the app's.
export default new DataSource(
  buildDataSourceOptions(configFromEnvironment(), { runMigrations: false }),
);
