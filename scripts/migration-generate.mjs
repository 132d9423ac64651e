#!/usr/bin/env node
// `npm run migration:generate -- <Name>`: writes migrations/<number>-<Name>.ts with what the
// entities need and the migrations do not yet create, for BOTH databases: the schema difference
// is computed on a throwaway SQLite file and on a throwaway PostgreSQL database (on the server
// of DATABASE_URL, which is required), each freshly migrated, and the file runs the statements
// of the database it runs on. Then it lists the class in migrations/index.ts. Review the file
// before landing it: generated SQL is a draft (docs/decisions.md,
// "Migrations: generated for both databases, reviewed by hand").
//
// Runs on the compiled code (npm runs `npm run build` first). Child mode (internal):
// `node scripts/migration-generate.mjs --child <sqlite|postgres>` prints the difference as JSON.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const MIGRATIONS_DIR = path.join(ROOT, 'migrations');
const require = createRequire(import.meta.url);

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  await main(process.argv[2]);
}

async function main(rawName) {
  const name = (rawName ?? '').replace(/^migrations\//, '');
  if (!/^[A-Z][A-Za-z0-9]{2,80}$/.test(name)) {
    fail('usage: npm run migration:generate -- <Name>   (PascalCase, e.g. AddUserLocale)');
  }
  const serverUrl = (process.env.DATABASE_URL ?? '').trim();
  if (!serverUrl.startsWith('postgres')) {
    fail(
      'DATABASE_URL must name a PostgreSQL server where this user may create databases: every ' +
        'migration runs on SQLite and PostgreSQL, so both differences are computed.\n' +
        'e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run migration:generate -- ' +
        name,
    );
  }
  const sqlite = difference('sqlite', {});
  const postgres = difference('postgres', { DATABASE_URL: serverUrl });
  if (sqlite.up.length === 0 && postgres.up.length === 0) {
    console.log('The entities and the migrations agree: nothing to generate.');
    return;
  }
  const existing = readdirSync(MIGRATIONS_DIR)
    .map((file) => /^(\d+)-/.exec(file)?.[1])
    .filter((number) => number !== undefined)
    .map(Number);
  const number = Math.max(...existing) + 1;
  const className = `${name}${number}`;
  const file = path.join(MIGRATIONS_DIR, `${number}-${name}.ts`);
  writeFileSync(file, migrationSource(className, { sqlite, postgres }));
  register(className, `./${number}-${name}`);
  spawnSync(process.execPath, [require.resolve('prettier/bin/prettier.cjs'), '--write', file], {
    stdio: 'ignore',
  });
  console.log(`Wrote ${path.relative(ROOT, file)} and listed it in migrations/index.ts:`);
  console.log(`  SQLite: ${sqlite.up.length} statement(s), PostgreSQL: ${postgres.up.length}.`);
  console.log('Review it (names, data migration, down), then run `npm test` on both databases.');
}

/** Runs the child for `dialect` in its own process: entity column types follow DATABASE_URL. */
function difference(dialect, env) {
  const environment = { ...process.env, ...env };
  if (dialect === 'sqlite') delete environment.DATABASE_URL;
  const result = spawnSync(process.execPath, [process.argv[1], '--child', dialect], {
    env: environment,
    encoding: 'utf8',
  });
  if (result.status !== 0) fail(`${dialect}: ${result.stderr || result.stdout}`);
  return JSON.parse(result.stdout);
}

async function child(dialect) {
  const { DataSource } = require('typeorm');
  const { ENTITIES } = require(path.join(ROOT, 'dist/src/database/entities.js'));
  const { MIGRATIONS } = require(path.join(ROOT, 'dist/migrations/index.js'));
  const common = { entities: ENTITIES, migrations: MIGRATIONS, migrationsTableName: 'migrations' };
  let cleanup;
  let options;
  if (dialect === 'postgres') {
    const { Client } = require('pg');
    const serverUrl = process.env.DATABASE_URL;
    const database = `identity_generate_${randomBytes(6).toString('hex')}`;
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    options = { ...common, type: 'postgres', url: url.toString() };
    cleanup = async () => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await client.end();
    };
  } else {
    const directory = mkdtempSync(path.join(tmpdir(), 'identity-generate-'));
    options = { ...common, type: 'better-sqlite3', database: path.join(directory, 'g.sqlite') };
    cleanup = () => Promise.resolve(rmSync(directory, { recursive: true, force: true }));
  }
  const dataSource = new DataSource(options);
  try {
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    const log = await dataSource.driver.createSchemaBuilder().log();
    const plain = (queries) =>
      queries.map((query) => ({ query: query.query, parameters: query.parameters ?? [] }));
    let up = plain(log.upQueries);
    let down = plain(log.downQueries).reverse();
    if (dialect === 'sqlite') {
      // SQLite changes a column by rebuilding the table, and DROP TABLE drops its triggers (the
      // auth-state triggers among them): recreate them once the new table has the old name.
      const triggers = await dataSource.query(
        "SELECT tbl_name AS tableName, sql FROM sqlite_master WHERE type = 'trigger'",
      );
      const withTriggers = (queries) => {
        // A trigger follows its table through a rename: track what each name was at the start.
        const original = new Map();
        const rebuilt = [];
        for (const { query } of queries) {
          const renamed = /^ALTER TABLE "(\w+)" RENAME TO "(\w+)"$/.exec(query);
          if (renamed) original.set(renamed[2], original.get(renamed[1]) ?? renamed[1]);
          const dropped = /^DROP TABLE "(\w+)"$/.exec(query)?.[1];
          if (dropped !== undefined) rebuilt.push(original.get(dropped) ?? dropped);
        }
        const again = triggers
          .filter((trigger) => rebuilt.includes(trigger.tableName))
          .map((trigger) => ({ query: trigger.sql, parameters: [] }));
        return [...queries, ...again];
      };
      up = withTriggers(up);
      down = withTriggers(saferRebuilds(down));
    }
    process.stdout.write(JSON.stringify({ up, down }));
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await cleanup();
  }
}

/**
 * TypeORM writes the down of a SQLite rebuild as "rename the table away, create it anew, copy,
 * drop the renamed one"; but renaming a table rewrites the other tables' foreign keys to the
 * new name, so they would end up pointing at the dropped table. Rewritten to the order its up
 * uses (and SQLite's documentation prescribes): create the new table under the temporary name,
 * copy, drop the old one, rename the new one.
 */
function saferRebuilds(queries) {
  const out = [...queries];
  for (let i = 0; i < out.length; i++) {
    const rename = /^ALTER TABLE "(\w+)" RENAME TO "(\w+)"$/.exec(out[i].query);
    if (!rename) continue;
    const [, table, temporary] = rename;
    const create = out.findIndex(
      (q, j) => j > i && q.query.startsWith(`CREATE TABLE "${table}" (`),
    );
    const copy = out.findIndex((q, j) => j > i && q.query.startsWith(`INSERT INTO "${table}"(`));
    const drop = out.findIndex((q, j) => j > i && q.query === `DROP TABLE "${temporary}"`);
    if (create < 0 || copy < 0 || drop < 0 || !(create < copy && copy < drop)) continue;
    const swap = (text) =>
      text.replace(new RegExp(`"(${table}|${temporary})"`, 'g'), (_m, name) =>
        name === table ? `"${temporary}"` : `"${table}"`,
      );
    const rebuilt = [
      { ...out[create], query: swap(out[create].query).replace(`"${table}"`, `"${temporary}"`) },
      { ...out[copy], query: swap(out[copy].query) },
      { query: `DROP TABLE "${table}"`, parameters: [] },
      { query: `ALTER TABLE "${temporary}" RENAME TO "${table}"`, parameters: [] },
    ];
    out.splice(
      i,
      drop - i + 1,
      ...out.slice(i + 1, drop).filter((_q, k) => ![create, copy].includes(i + 1 + k)),
      ...rebuilt,
    );
  }
  return out;
}

function migrationSource(className, { sqlite, postgres }) {
  const list = (queries) => JSON.stringify(queries, null, 2);
  return `import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Generated by \`npm run migration:generate\` on ${new Date().toISOString().slice(0, 10)}: what the
 * entities need that the earlier migrations do not create, per database. Review before landing.
 */
export class ${className} implements MigrationInterface {
  name = '${className}';
  // Each direction runs in a transaction of its own (see run): SQLite rebuilds a table to change
  // it, which needs foreign keys off, and that can only be switched outside a transaction.
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await run(queryRunner, statementsFor(queryRunner).up);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await run(queryRunner, statementsFor(queryRunner).down);
  }
}

type Statement = { query: string; parameters: unknown[] };

function statementsFor(queryRunner: QueryRunner): { up: Statement[]; down: Statement[] } {
  return queryRunner.connection.driver.options.type === 'postgres' ? POSTGRES : SQLITE;
}

/** SQLite's procedure for a table rebuild: foreign keys off, the change, a check, back on. */
async function run(queryRunner: QueryRunner, statements: Statement[]): Promise<void> {
  const sqlite = queryRunner.connection.driver.options.type !== 'postgres';
  if (sqlite) {
    await queryRunner.query('PRAGMA foreign_keys = OFF');
    const [state] = (await queryRunner.query('PRAGMA foreign_keys')) as Array<{ foreign_keys: number }>;
    if (state?.foreign_keys === 1 && statements.some(({ query }) => query.startsWith('DROP TABLE'))) {
      // Inside a transaction (TypeORM's revert always opens one) the switch does nothing, and
      // dropping the old table would delete every row that references it: refuse instead.
      throw new Error(
        'This SQLite table rebuild must run with foreign keys off, which is impossible inside a transaction; restore the backup taken before the upgrade instead',
      );
    }
  }
  try {
    await queryRunner.startTransaction();
    try {
      for (const { query, parameters } of statements) await queryRunner.query(query, parameters);
      if (sqlite) {
        const broken = (await queryRunner.query('PRAGMA foreign_key_check')) as unknown[];
        if (broken.length > 0) throw new Error('the migration breaks foreign keys');
      }
      await queryRunner.commitTransaction();
    } catch (error) {
      await queryRunner.rollbackTransaction();
      throw error;
    }
  } finally {
    if (sqlite) await queryRunner.query('PRAGMA foreign_keys = ON');
  }
}

const POSTGRES = { up: ${list(postgres.up)}, down: ${list(postgres.down)} };

const SQLITE = { up: ${list(sqlite.up)}, down: ${list(sqlite.down)} };
`;
}

/** Adds the import and the list entry to migrations/index.ts (newest last). */
function register(className, importPath) {
  const index = path.join(MIGRATIONS_DIR, 'index.ts');
  let text = readFileSync(index, 'utf8');
  const imports = [...text.matchAll(/^import .*;$/gm)];
  const last = imports.at(-1);
  const at = (last?.index ?? 0) + (last?.[0].length ?? 0);
  text = `${text.slice(0, at)}\nimport { ${className} } from '${importPath}';${text.slice(at)}`;
  text = text.replace(/\n\];\s*$/, `\n  ${className},\n];\n`);
  writeFileSync(index, text);
}

function fail(message) {
  console.error(message);
  process.exit(2);
}
