import type { Logger } from '@nestjs/common';
import type { AuthStateCache } from './auth-state.cache';

/**
 * SQLite: the version row the triggers of migration 1764000000006 move on every change, read
 * with one small synchronous statement. A moved version empties the cache, so every process on
 * the file sees every change on its next check.
 */
export class SqliteVersion {
  private lastVersion: unknown = undefined;

  constructor(
    private readonly readVersion: () => unknown,
    private readonly cache: AuthStateCache,
    private readonly logger: Logger,
  ) {}

  /** Reads the version; empties the cache when it moved. False if it cannot be read. */
  unchangedOrCleared(): boolean {
    let version: unknown;
    try {
      version = this.readVersion();
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
