import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { loadAppConfig } from '../src/config/app-config';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { revertLastMigration } from '../src/database/revert-migration';
import { MIGRATIONS } from '../migrations';
import { Role } from '../src/users/entities/role.entity';
import { RoleName } from '../src/access/role-name';
import { UserRole } from '../src/users/entities/user-role.entity';
import { User } from '../src/users/entities/user.entity';
import { createTestDatabase, TestDatabase } from './helpers/test-database';
import { testEnvironment } from './helpers/test-app';

const TABLES = ['roles', 'users', 'users_to_roles', 'sessions', 'refresh_tokens', 'audit_events'];

describe('migrations', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  before(async () => {
    database = await createTestDatabase();
    const config = loadAppConfig(testEnvironment(database));
    dataSource = new DataSource(buildDataSourceOptions(config, { runMigrations: false }));
    await dataSource.initialize();
  });
  after(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  async function tables(): Promise<string[]> {
    const runner = dataSource.createQueryRunner();
    try {
      const existing = await Promise.all(TABLES.map((table) => runner.hasTable(table)));
      return TABLES.filter((_, index) => existing[index]);
    } finally {
      await runner.release();
    }
  }

  it('run on an empty database and leave the schema exactly as the entities describe it', async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    assert.equal(applied.length, MIGRATIONS.length);
    assert.deepEqual(await tables(), TABLES);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    assert.deepEqual(
      pending.upQueries.map((query) => query.query),
      [],
      'entities and migrations disagree: write a migration',
    );
  });

  it('seed the three roles', async () => {
    const rows: Array<{ name: string }> = await dataSource.query(
      'SELECT name FROM roles ORDER BY name',
    );
    assert.deepEqual(
      rows.map((row) => row.name),
      ['ROLE_ADMIN', 'ROLE_MODERATOR', 'ROLE_USER'],
    );
  });

  it('cascade a user deletion to their role grants', async () => {
    const id = '11111111-1111-4111-8111-111111111111';
    await dataSource
      .getRepository(User)
      .insert({ id, username: 'cascade', email: 'cascade@example.com', passwordHash: 'x' });
    const role = await dataSource.getRepository(Role).findOneByOrFail({ name: RoleName.User });
    await dataSource.getRepository(UserRole).insert({ userId: id, roleId: role.id });
    await dataSource.getRepository(User).delete({ id });
    assert.equal(await dataSource.getRepository(UserRole).countBy({ userId: id }), 0);
    assert.equal(await dataSource.getRepository(Role).countBy({ id: role.id }), 1);
  });

  it('refuse a non-canonical username or email at the database level', async () => {
    const users = dataSource.getRepository(User);
    const row = { id: '22222222-2222-4222-8222-222222222222', passwordHash: 'x' };
    await assert.rejects(
      users.insert({ ...row, username: 'Upper', email: 'upper@example.com' }),
      /CHECK|check/,
    );
    await assert.rejects(
      users.insert({ ...row, username: 'lower', email: 'Upper@example.com' }),
      /CHECK|check/,
    );
    await users.insert({ ...row, username: 'lower', email: 'lower@example.com' });
  });

  it('revert one by one down to an empty schema, and run again', async () => {
    for (let index = 0; index < MIGRATIONS.length; index++) {
      await revertLastMigration(dataSource);
    }
    assert.deepEqual(await tables(), []);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    assert.equal(applied.length, MIGRATIONS.length);
    assert.deepEqual(await tables(), TABLES);
  });
});
