import type { ColumnType } from 'typeorm';

/**
 * Column decorators run when entity files load, before Nest builds the configuration, so the
 * timestamp type follows the rule the configuration uses to pick the driver: DATABASE_URL set
 * means PostgreSQL (`timestamptz`), otherwise SQLite (`datetime`, stored as UTC text).
 * Entry points load `.env` before importing entities (see config/dotenv.ts).
 */
export const TIMESTAMP_TYPE: ColumnType =
  (process.env.DATABASE_URL ?? '').trim() !== '' ? 'timestamptz' : 'datetime';
