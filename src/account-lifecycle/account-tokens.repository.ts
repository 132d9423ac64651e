import { Injectable } from '@nestjs/common';
import { Database, type Statement, type Transaction } from '../database/database';
import type { AccountTokenPurpose } from './account-token.entity';

// Fixed statements, one text for both databases: dates are bound as TypeORM stores them
// (timestamptz on PostgreSQL, UTC text on SQLite, where text order is time order).

const INSERT: Statement = {
  name: 'account_tokens_insert',
  sql: `
    INSERT INTO account_tokens (id, user_id, purpose, token_hash, email, created_at, expires_at, used_at)
    VALUES (:id, :userId, :purpose, :tokenHash, :email, :now, :expiresAt, NULL)`,
};

// PostgreSQL: issuing takes this lock first, so a concurrent issue of the same user and purpose
// waits for the other's commit and its spend-all then sees (and spends) the other's token; under
// READ COMMITTED both would otherwise stay usable. SQLite has one writer already.
const LOCK_ISSUE: Statement = {
  name: 'account_tokens_lock_issue',
  sql: `SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))`,
};

const SPEND_ALL: Statement = {
  name: 'account_tokens_spend_all',
  sql: `
    UPDATE account_tokens SET used_at = :now
    WHERE user_id = :userId AND purpose = :purpose AND used_at IS NULL`,
};

// The WHERE is the whole check: of concurrent consumers only one finds used_at still NULL
// (PostgreSQL re-checks it on the row the winner committed; SQLite has one writer).
const CONSUME: Statement = {
  name: 'account_tokens_consume',
  sql: `
    UPDATE account_tokens SET used_at = :now
    WHERE token_hash = :tokenHash AND purpose = :purpose AND used_at IS NULL AND expires_at > :now
    RETURNING user_id, email`,
};

const FIND_USABLE: Statement = {
  name: 'account_tokens_find_usable',
  sql: `
    SELECT user_id, email FROM account_tokens
    WHERE token_hash = :tokenHash AND purpose = :purpose AND used_at IS NULL AND expires_at > :now`,
};

export interface NewAccountToken {
  id: string;
  userId: string;
  purpose: AccountTokenPurpose;
  tokenHash: string;
  email: string;
  now: Date;
  expiresAt: Date;
}

/** The mailed tokens of account_tokens (AccountToken): all their SQL. */
@Injectable()
export class AccountTokensRepository {
  constructor(private readonly database: Database) {}

  async insert(tx: Transaction, token: NewAccountToken): Promise<void> {
    await this.database.run(INSERT, { ...token }, tx);
  }

  /**
   * Serialises the issues of one user and purpose until `tx` ends (see LOCK_ISSUE): a newer
   * token then really replaces every older one.
   */
  async lockIssue(tx: Transaction, userId: string, purpose: AccountTokenPurpose): Promise<void> {
    if (this.database.dialect !== 'postgres') return;
    await this.database.run(LOCK_ISSUE, { key: `account_tokens:${purpose}:${userId}` }, tx);
  }

  /** Marks every unused token of the user and purpose spent at `now`; how many it spent. */
  async spendAll(
    tx: Transaction,
    userId: string,
    purpose: AccountTokenPurpose,
    now: Date,
  ): Promise<number> {
    const { affected } = await this.database.run(SPEND_ALL, { userId, purpose, now }, tx);
    return affected;
  }

  /** The unused, unexpired token with this hash, left unspent: its user and address, or null. */
  async findUsable(
    purpose: AccountTokenPurpose,
    tokenHash: string,
    now: Date,
  ): Promise<{ userId: string; email: string } | null> {
    const {
      rows: [row],
    } = await this.database.run<{ user_id: string; email: string }>(FIND_USABLE, {
      tokenHash,
      purpose,
      now,
    });
    return row === undefined ? null : { userId: row.user_id, email: row.email };
  }

  /** Spends the unused, unexpired token with this hash; its user and address, or null. */
  async consume(
    tx: Transaction,
    purpose: AccountTokenPurpose,
    tokenHash: string,
    now: Date,
  ): Promise<{ userId: string; email: string } | null> {
    const {
      rows: [row],
    } = await this.database.run<{ user_id: string; email: string }>(
      CONSUME,
      { tokenHash, purpose, now },
      tx,
    );
    return row === undefined ? null : { userId: row.user_id, email: row.email };
  }
}
