// The throwaway database of a bench run, as test/helpers/test-database.ts makes them: a SQLite
// file in a temporary directory, or a new database on the PostgreSQL server of DATABASE_URL.
// drop() removes it; it is safe to call more than once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pg from 'pg';

export async function createDatabase(serverUrl) {
  return serverUrl === undefined ? createSqlite() : createPostgres(serverUrl);
}

function createSqlite() {
  const directory = mkdtempSync(path.join(tmpdir(), 'identity-bench-'));
  const file = path.join(directory, 'app.sqlite');
  return {
    kind: 'sqlite',
    label: `SQLite ${file}`,
    env: { DATABASE_URL: '', SQLITE_PATH: file },
    drop() {
      rmSync(directory, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

async function createPostgres(serverUrl) {
  const name = `identity_bench_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    kind: 'postgres',
    label: `PostgreSQL ${url.host}/${name}`,
    env: { DATABASE_URL: url.toString() },
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE: a killed app may leave connections behind.
      await withClient(serverUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      );
    },
  };
}

async function withClient(url, use) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
