import type { DataSource, MigrationInterface } from 'typeorm';

/**
 * Reverts the newest applied migration. TypeORM's revert opens a transaction around a migration
 * even when it declares `transaction = false`; such a migration (a generated SQLite table
 * rebuild, which must switch foreign keys off and commits its own transaction) is reverted
 * without one. Returns the reverted migration's name, or undefined when none was applied
 * (docs/decisions.md, "Migrations: generated for both databases, reviewed by hand").
 */
export async function revertLastMigration(dataSource: DataSource): Promise<string | undefined> {
  const executed = await dataSource.query<Array<{ name: string }>>(
    `SELECT name FROM ${dataSource.driver.escape(dataSource.options.migrationsTableName ?? 'migrations')} ORDER BY id DESC LIMIT 1`,
  );
  const name = executed[0]?.name;
  if (name === undefined) return undefined;
  const migration = (
    dataSource.migrations as Array<MigrationInterface & { transaction?: boolean }>
  ).find((candidate) => (candidate.name ?? candidate.constructor.name) === name);
  await dataSource.undoLastMigration({
    transaction: migration?.transaction === false ? 'none' : 'each',
  });
  return name;
}
