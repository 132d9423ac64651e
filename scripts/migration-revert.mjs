#!/usr/bin/env node
// `npm run migration:revert`: reverts the newest applied migration on the configured database
// (DATABASE_URL, or the SQLite file), through the same DataSource as the TypeORM CLI.
// TypeORM's own revert ignores a migration's `transaction = false` (src/database/revert-migration.ts).
import { createRequire } from 'node:module';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const dataSource = require(path.join(ROOT, 'dist/ormconfig.js')).default;
const { revertLastMigration } = require(path.join(ROOT, 'dist/src/database/revert-migration.js'));

await dataSource.initialize();
try {
  const name = await revertLastMigration(dataSource);
  console.log(name === undefined ? 'No migration is applied.' : `Reverted ${name}.`);
} finally {
  await dataSource.destroy();
}
