import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/test-database';
import { Database, type Statement, toDate, Transactions } from './database';
import { serialiseSqliteTransactions } from './sqlite-transactions';

// The adapter on the database the suite runs against (SQLite, or PostgreSQL with DATABASE_URL):
// what a TypeORM upgrade must keep true.

const timestamp = (process.env.DATABASE_URL ?? '') !== '' ? 'timestamptz' : 'datetime';

@Entity('adapter_items')
class Item {
  @PrimaryColumn({ type: 'integer' })
  sequence!: number;

  @Column({ type: 'varchar' })
  label!: string;

  @Column({ type: timestamp, nullable: true })
  at!: Date | null;
}

const INSERT: Statement = {
  name: 'adapter_spec_insert',
  sql: 'INSERT INTO adapter_items (sequence, label, at) VALUES (:sequence, :label, :at)',
};
const COUNT: Statement = {
  name: 'adapter_spec_count',
  sql: 'SELECT COUNT(*) AS n FROM adapter_items WHERE label = :label',
};
const READ_AT: Statement = {
  name: 'adapter_spec_read_at',
  sql: 'SELECT at FROM adapter_items WHERE sequence = :sequence',
};

describe('Database adapter', () => {
  let testDatabase: TestDatabase;
  let dataSource: DataSource;
  let database: Database;
  let transactions: Transactions;

  const count = async (label: string): Promise<number> => {
    const { rows } = await database.run<{ n: number | string }>(COUNT, { label });
    return Number(rows[0]?.n);
  };

  before(async () => {
    testDatabase = await createTestDatabase();
    dataSource = serialiseSqliteTransactions(
      await new DataSource(
        testDatabase.kind === 'postgres'
          ? { type: 'postgres', url: testDatabase.env.DATABASE_URL, entities: [Item] }
          : {
              type: 'better-sqlite3',
              database: testDatabase.env.SQLITE_PATH ?? '',
              entities: [Item],
            },
      ).initialize(),
    );
    await dataSource.synchronize();
    database = new Database(dataSource);
    transactions = new Transactions(database);
  });
  after(async () => {
    await dataSource.destroy();
    await testDatabase.drop();
  });

  it('names the dialect', () => {
    assert.equal(database.dialect, testDatabase.kind);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await transactions.run(async (tx) => {
      await database.run(INSERT, { sequence: 1, label: 'kept', at: null }, tx);
    });
    await assert.rejects(
      transactions.run(async (tx) => {
        await database.run(INSERT, { sequence: 2, label: 'lost', at: null }, tx);
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await count('kept'), 1);
    assert.equal(await count('lost'), 0);
  });

  it('rolls back a savepoint alone, inside its outer transaction', async () => {
    await transactions.run(async (tx) => {
      await database.run(INSERT, { sequence: 3, label: 'outer', at: null }, tx);
      await assert.rejects(
        transactions.run(async (inner) => {
          await database.run(INSERT, { sequence: 4, label: 'inner', at: null }, inner);
          throw new Error('inner abort');
        }, tx),
      );
    });
    assert.equal(await count('outer'), 1);
    assert.equal(await count('inner'), 0);
  });

  it('runs concurrent transactions without losing one (SQLite: one after the other)', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        transactions.run(async (tx) => {
          await database.run(INSERT, { sequence: 100 + index, label: 'parallel', at: null }, tx);
          await database.query('SELECT 1', [], tx);
        }),
      ),
    );
    assert.equal(await count('parallel'), 10);
  });

  it('stores a Date as the entity API does, and reads it back as the same instant', async () => {
    const at = new Date(Date.UTC(2026, 10, 30, 21, 5, 7, 123));
    await database.run(INSERT, {
      sequence: 200,
      label: 'dated',
      at: database.columnValue(Item, 'at', at),
    });
    await database.manager().save(Object.assign(new Item(), { sequence: 201, label: 'dated', at }));
    for (const sequence of [200, 201]) {
      const { rows } = await database.run<{ at: Date | string }>(READ_AT, { sequence });
      assert.equal(toDate(rows[0]?.at ?? '').getTime(), at.getTime());
    }
    const entity = await database.manager().findOneByOrFail(Item, { sequence: 200 });
    assert.equal(entity.at?.getTime(), at.getTime());
  });

  it('reports the rows a statement changed', async () => {
    const result = await database.run(
      {
        name: 'adapter_spec_update',
        sql: 'UPDATE adapter_items SET label = :to WHERE label = :from',
      },
      { from: 'parallel', to: 'renamed' },
    );
    assert.equal(result.affected, 10);
  });

  it('prepares native statements on SQLite only', async () => {
    if (database.dialect === 'postgres') {
      assert.throws(() => database.prepareSqlite('SELECT 1'), /not a SQLite database/);
      return;
    }
    const statement = database.prepareSqlite('SELECT label FROM adapter_items WHERE sequence = ?');
    assert.deepEqual(statement.get(1), { label: 'kept' });
    assert.equal(statement.pluck().get(1), 'kept');
    await Promise.resolve();
  });

  it('surfaces a failed statement as TypeORM’s QueryFailedError on both databases', async () => {
    await assert.rejects(
      database.run(INSERT, { sequence: 1, label: 'duplicate', at: null }),
      (error: Error) => error.name === 'QueryFailedError',
    );
  });
});
