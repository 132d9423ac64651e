import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';

/**
 * Applies the pending migrations, each in its own transaction (as the server does at boot), and
 * returns their names in order; none pending: an empty list. For `migrate` as a deployment
 * step before the new version starts.
 */
export async function runPendingMigrations(config: AppConfig): Promise<string[]> {
  const dataSource = new DataSource({
    ...buildDataSourceOptions(config, { runMigrations: false }),
    logging: ['warn'],
  });
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
