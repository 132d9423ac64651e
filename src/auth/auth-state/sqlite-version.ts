import type { Logger } from '@nestjs/common';
import type { Database, SqliteStatement } from '../../database/database';
import type { AuthStateCache } from './auth-state.cache';

/**
 * SQLite: the version row the triggers of migration 1764000000006 move on every change, read
 * with one small synchronous statement. A moved version empties the cache, so every process on
 * the file sees every change on its next check.
 */
export class SqliteVersion {
  private readonly statement: SqliteStatement;
  private lastVersion: unknown = undefined;

  constructor(
    database: Database,
    private readonly cache: AuthStateCache,
    private readonly logger: Logger,
  ) {
    this.statement = database
      .prepareSqlite('SELECT "version" FROM "auth_state_version" WHERE "id" = 1')
      .pluck();
  }

  /** Reads the version; empties the cache when it moved. False if it cannot be read. */
  unchangedOrCleared(): boolean {
    let version: unknown;
    try {
      version = this.statement.get();
    } catch (error) {
      this.logger.error(
        `Auth-state version could not be read (${error instanceof Error ? error.message : String(error)}): this request reads the database`,
      );
      this.cache.invalidateAll();
      this.lastVersion = undefined;
      return false;
    }
    if (version !== this.lastVersion) {
      this.cache.invalidateAll();
      this.lastVersion = version;
    }
    return true;
  }
}
