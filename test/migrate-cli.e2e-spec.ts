import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../migrations';
import { loadAppConfig } from '../src/config/app-config';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { testEnvironment } from './helpers/test-app';
import { createTestDatabase, type TestDatabase } from './helpers/test-database';

// The compiled entry point beside this compiled file: `node dist/src/cli/main.js migrate`.
const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');

describe('node dist/src/cli/main.js migrate', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.drop());

  function migrate(env: Record<string, string> = {}) {
    return spawnSync(process.execPath, [CLI, 'migrate'], {
      env: { ...process.env, DATABASE_URL: '', ...testEnvironment(database), ...env },
      encoding: 'utf8',
    });
  }

  it('applies every pending migration in order and names each, then has nothing left to do', async () => {
    const first = migrate();
    assert.equal(first.status, 0, first.stderr);
    const names = MIGRATIONS.map((migration) => migration.name);
    assert.deepEqual(
      first.stdout.trim().split('\n'),
      names.map((name) => `Applied ${name}.`),
    );

    const dataSource = await new DataSource(
      buildDataSourceOptions(loadAppConfig(testEnvironment(database)), { runMigrations: false }),
    ).initialize();
    try {
      assert.equal(await dataSource.showMigrations(), false);
    } finally {
      await dataSource.destroy();
    }

    const again = migrate();
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, 'No pending migrations.\n');
  });

  it('exits 1 with one line naming the failure when the database cannot be reached', () => {
    const run = migrate({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^Error: migrations failed \(.+\)\n$/);
  });
});
