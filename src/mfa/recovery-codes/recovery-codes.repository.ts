import { Injectable } from '@nestjs/common';
import { Database, type Statement, type Transaction } from '../../database/database';

const DELETE_ALL: Statement = {
  name: 'mfa_recovery_codes_delete_all',
  sql: `DELETE FROM mfa_recovery_codes WHERE user_id = :userId`,
};

const INSERT: Statement = {
  name: 'mfa_recovery_codes_insert',
  sql: `
    INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at, used_at)
    VALUES (:id, :userId, :codeHash, :now, NULL)`,
};

// The WHERE is the whole check: of two requests with the same code only one spends it.
const CONSUME: Statement = {
  name: 'mfa_recovery_codes_consume',
  sql: `
    UPDATE mfa_recovery_codes SET used_at = :now
    WHERE user_id = :userId AND code_hash = :codeHash AND used_at IS NULL`,
};

const COUNT_UNUSED: Statement = {
  name: 'mfa_recovery_codes_count_unused',
  sql: `SELECT COUNT(*) AS unused FROM mfa_recovery_codes WHERE user_id = :userId AND used_at IS NULL`,
};

/** The recovery codes of mfa_recovery_codes (RecoveryCode): all their SQL. */
@Injectable()
export class RecoveryCodesRepository {
  constructor(private readonly database: Database) {}

  /** Replaces the user's codes with these hashes. */
  async replace(
    tx: Transaction,
    userId: string,
    codes: Array<{ id: string; codeHash: string }>,
    now: Date,
  ): Promise<void> {
    await this.database.run(DELETE_ALL, { userId }, tx);
    for (const code of codes) await this.database.run(INSERT, { ...code, userId, now }, tx);
  }

  async deleteAll(tx: Transaction, userId: string): Promise<number> {
    const { affected } = await this.database.run(DELETE_ALL, { userId }, tx);
    return affected;
  }

  async consume(userId: string, codeHash: string, now: Date, tx?: Transaction): Promise<boolean> {
    const { affected } = await this.database.run(CONSUME, { userId, codeHash, now }, tx);
    return affected > 0;
  }

  async countUnused(userId: string, tx?: Transaction): Promise<number> {
    const {
      rows: [row],
    } = await this.database.run<{ unused: number | string }>(COUNT_UNUSED, { userId }, tx);
    return Number(row?.unused ?? 0);
  }
}
