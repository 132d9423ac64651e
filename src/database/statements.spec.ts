import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource, type Logger } from 'typeorm';
import { runStatement, type Statement } from './statements';

const INSERT: Statement = {
  name: 'spec_insert',
  sql: 'INSERT INTO items (sequence, label, flag) VALUES (:sequence, :label, :flag)',
};
const READ: Statement = {
  name: 'spec_read',
  sql: 'SELECT sequence, label, flag FROM items WHERE sequence >= :from ORDER BY sequence',
};

describe('runStatement on SQLite', () => {
  const queries: Array<{ text: string; values: unknown[] }> = [];
  const logger: Logger = {
    logQuery: (text, values) =>
      void queries.push({ text, values: Array.isArray(values) ? values : [] }),
    logQueryError: () => undefined,
    logQuerySlow: () => undefined,
    logSchemaBuild: () => undefined,
    logMigration: () => undefined,
    log: () => undefined,
  };
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    logging: true,
    logger,
  });

  before(async () => {
    await dataSource.initialize();
    await dataSource.query(
      'CREATE TABLE items (sequence INTEGER PRIMARY KEY, label TEXT NOT NULL, flag INTEGER)',
    );
  });
  after(() => dataSource.destroy());

  it('binds every value, numbers too, so a statement keeps one SQL text', async () => {
    queries.length = 0;
    await runStatement(dataSource, undefined, INSERT, { sequence: 41, label: 'a', flag: true });
    await runStatement(dataSource, undefined, INSERT, { sequence: 42, label: 'b', flag: false });
    const inserts = queries.filter((query) => query.text.startsWith('INSERT INTO items'));
    assert.equal(inserts.length, 2);
    // One text for both calls (TypeORM's conversion wrote 41 and 42 into it): one prepared
    // statement, found in the driver's cache on every call after the first.
    assert.equal(inserts[0]?.text, inserts[1]?.text);
    assert.doesNotMatch(inserts[0]?.text ?? '', /41/);
    assert.deepEqual(
      inserts.map((query) => query.values),
      [
        [41, 'a', 1],
        [42, 'b', 0],
      ],
    );
    const { rows } = await runStatement(dataSource, undefined, READ, { from: 42 });
    assert.deepEqual(rows, [{ sequence: 42, label: 'b', flag: 0 }]);
  });

  it('writes a Date as TypeORM does on SQLite (UTC datetime text)', async () => {
    const at = new Date(Date.UTC(2026, 10, 30, 21, 5, 7, 123));
    await runStatement(dataSource, undefined, INSERT, { sequence: 50, label: at, flag: null });
    const { rows } = await runStatement(dataSource, undefined, READ, { from: 50 });
    assert.deepEqual(rows, [{ sequence: 50, label: '2026-11-30 21:05:07.123', flag: null }]);
  });

  it('refuses to run with a parameter missing', async () => {
    await assert.rejects(
      runStatement(dataSource, undefined, INSERT, { sequence: 43, label: 'c' }),
      /spec_insert: no value for :flag/,
    );
  });
});
