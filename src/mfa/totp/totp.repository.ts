import { Injectable } from '@nestjs/common';
import {
  Database,
  type Statement,
  type Transaction,
  toDate,
  toDateOrNull,
} from '../../database/database';

const FIND: Statement = {
  name: 'mfa_totp_find',
  sql: `
    SELECT user_id, secret_ciphertext, created_at, confirmed_at, last_used_step
    FROM mfa_totp_factors WHERE user_id = :userId`,
};

// A pending enrolment is replaced by a new one; a confirmed factor never is (the WHERE).
const UPSERT_PENDING: Statement = {
  name: 'mfa_totp_upsert_pending',
  sql: `
    INSERT INTO mfa_totp_factors (user_id, secret_ciphertext, created_at, confirmed_at, last_used_step)
    VALUES (:userId, :secretCiphertext, :now, NULL, NULL)
    ON CONFLICT (user_id) DO UPDATE
      SET secret_ciphertext = excluded.secret_ciphertext, created_at = excluded.created_at,
          last_used_step = NULL
      WHERE mfa_totp_factors.confirmed_at IS NULL`,
};

// Accepting a code is this conditional update: of two requests with the same code (or of two
// codes of one step) only one moves last_used_step forward.
const USE_STEP: Statement = {
  name: 'mfa_totp_use_step',
  sql: `
    UPDATE mfa_totp_factors SET last_used_step = :step
    WHERE user_id = :userId AND secret_ciphertext = :secretCiphertext
      AND (last_used_step IS NULL OR last_used_step < :step)`,
};

const CONFIRM: Statement = {
  name: 'mfa_totp_confirm',
  sql: `
    UPDATE mfa_totp_factors SET confirmed_at = :now
    WHERE user_id = :userId AND confirmed_at IS NULL`,
};

const DELETE: Statement = {
  name: 'mfa_totp_delete',
  sql: `DELETE FROM mfa_totp_factors WHERE user_id = :userId`,
};

const LIST_SEALED: Statement = {
  name: 'mfa_totp_list_sealed',
  sql: `SELECT user_id, secret_ciphertext FROM mfa_totp_factors ORDER BY user_id`,
};

const RESEAL: Statement = {
  name: 'mfa_totp_reseal',
  sql: `
    UPDATE mfa_totp_factors SET secret_ciphertext = :sealed
    WHERE user_id = :userId AND secret_ciphertext = :previous`,
};

export interface TotpFactorRow {
  userId: string;
  secretCiphertext: string;
  createdAt: Date;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
}

interface Row {
  user_id: string;
  secret_ciphertext: string;
  created_at: Date | string;
  confirmed_at: Date | string | null;
  last_used_step: number | string | null;
}

/** The TOTP factors of mfa_totp_factors (TotpFactor): all their SQL. */
@Injectable()
export class TotpRepository {
  constructor(private readonly database: Database) {}

  async find(userId: string, tx?: Transaction): Promise<TotpFactorRow | null> {
    const {
      rows: [row],
    } = await this.database.run<Row>(FIND, { userId }, tx);
    return row === undefined ? null : toFactor(row);
  }

  /** Stores a pending factor; false when a confirmed one exists (it is left alone). */
  async upsertPending(
    tx: Transaction,
    userId: string,
    secretCiphertext: string,
    now: Date,
  ): Promise<boolean> {
    const { affected } = await this.database.run(
      UPSERT_PENDING,
      { userId, secretCiphertext, now },
      tx,
    );
    return affected > 0;
  }

  /** Records `step` as used; false when it (or a later one) already was, or the secret changed. */
  async useStep(
    userId: string,
    secretCiphertext: string,
    step: number,
    tx?: Transaction,
  ): Promise<boolean> {
    const { affected } = await this.database.run(USE_STEP, { userId, secretCiphertext, step }, tx);
    return affected > 0;
  }

  async confirm(tx: Transaction, userId: string, now: Date): Promise<boolean> {
    const { affected } = await this.database.run(CONFIRM, { userId, now }, tx);
    return affected > 0;
  }

  async delete(tx: Transaction, userId: string): Promise<boolean> {
    const { affected } = await this.database.run(DELETE, { userId }, tx);
    return affected > 0;
  }

  async listSealed(): Promise<Array<{ userId: string; secretCiphertext: string }>> {
    const { rows } = await this.database.run<Row>(LIST_SEALED, {});
    return rows.map((row) => ({ userId: row.user_id, secretCiphertext: row.secret_ciphertext }));
  }

  /** Replaces a sealed secret if it is still `previous`; false when it changed meanwhile. */
  async reseal(userId: string, previous: string, sealed: string): Promise<boolean> {
    const { affected } = await this.database.run(RESEAL, { userId, previous, sealed });
    return affected > 0;
  }
}

function toFactor(row: Row): TotpFactorRow {
  return {
    userId: row.user_id,
    secretCiphertext: row.secret_ciphertext,
    createdAt: toDate(row.created_at),
    confirmedAt: toDateOrNull(row.confirmed_at),
    lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
  };
}
