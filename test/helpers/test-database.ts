import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  /** Environment variables that point the service at this database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: a throwaway PostgreSQL database on the server of
 * DATABASE_URL when it is set, otherwise a SQLite file in a temporary directory.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl !== undefined && serverUrl !== '') {
    const name = `identity_test_${randomBytes(6).toString('hex')}`;
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      kind: 'postgres',
      env: { DATABASE_URL: url.toString() },
      async drop() {
        const client = new Client({ connectionString: serverUrl });
        await client.connect();
        try {
          await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await client.end();
        }
      },
    };
  }
  const directory = mkdtempSync(path.join(tmpdir(), 'identity-test-'));
  return {
    kind: 'sqlite',
    env: { SQLITE_PATH: path.join(directory, 'app.sqlite') },
    drop() {
      rmSync(directory, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
