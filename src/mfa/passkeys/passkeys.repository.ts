import { Injectable } from '@nestjs/common';
import {
  Database,
  type Statement,
  type Transaction,
  toDate,
  toDateOrNull,
} from '../../database/database';

const COLUMNS = `id, user_id, credential_id, public_key, sign_count, transports, device_type,
  backed_up, aaguid, name, created_at, last_used_at`;

const INSERT: Statement = {
  name: 'webauthn_credentials_insert',
  sql: `
    INSERT INTO webauthn_credentials (${COLUMNS})
    VALUES (:id, :userId, :credentialId, :publicKey, :signCount, :transports, :deviceType,
      :backedUp, :aaguid, :name, :now, NULL)`,
};

const LIST_BY_USER: Statement = {
  name: 'webauthn_credentials_list_by_user',
  sql: `SELECT ${COLUMNS} FROM webauthn_credentials WHERE user_id = :userId ORDER BY created_at, id`,
};

const FIND_BY_CREDENTIAL_ID: Statement = {
  name: 'webauthn_credentials_find_by_credential_id',
  sql: `SELECT ${COLUMNS} FROM webauthn_credentials WHERE credential_id = :credentialId`,
};

const RENAME: Statement = {
  name: 'webauthn_credentials_rename',
  sql: `UPDATE webauthn_credentials SET name = :name WHERE id = :id AND user_id = :userId`,
};

const DELETE: Statement = {
  name: 'webauthn_credentials_delete',
  sql: `DELETE FROM webauthn_credentials WHERE id = :id AND user_id = :userId`,
};

// The counter only moves forward (WebAuthn §6.1.1): of two assertions racing with counters an
// authenticator really produced, each lands; one whose counter is not above the stored value
// (a cloned authenticator, or a replay past the challenge check) changes nothing. Authenticators
// without a counter report 0 every time, which stays 0.
const RECORD_USE: Statement = {
  name: 'webauthn_credentials_record_use',
  sql: `
    UPDATE webauthn_credentials
    SET sign_count = :signCount, backed_up = :backedUp, last_used_at = :now
    WHERE id = :id AND (sign_count < :signCount OR (sign_count = 0 AND :signCount = 0))`,
};

export interface PasskeyRow {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  aaguid: string | null;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export type NewPasskey = Omit<PasskeyRow, 'createdAt' | 'lastUsedAt'> & { now: Date };

interface Row {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  sign_count: number | string;
  transports: string | null;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean | number;
  aaguid: string | null;
  name: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
}

/** The passkeys of webauthn_credentials (Passkey): all their SQL. */
@Injectable()
export class PasskeysRepository {
  constructor(private readonly database: Database) {}

  async insert(passkey: NewPasskey, tx?: Transaction): Promise<void> {
    await this.database.run(
      INSERT,
      {
        ...passkey,
        transports: passkey.transports.length === 0 ? null : passkey.transports.join(','),
      },
      tx,
    );
  }

  async listByUser(userId: string, tx?: Transaction): Promise<PasskeyRow[]> {
    const { rows } = await this.database.run<Row>(LIST_BY_USER, { userId }, tx);
    return rows.map(toPasskey);
  }

  async findByCredentialId(credentialId: string): Promise<PasskeyRow | null> {
    const {
      rows: [row],
    } = await this.database.run<Row>(FIND_BY_CREDENTIAL_ID, { credentialId });
    return row === undefined ? null : toPasskey(row);
  }

  /** Renames the user's passkey `id`; false if the user has none with that id. */
  async rename(tx: Transaction, id: string, userId: string, name: string): Promise<boolean> {
    const { affected } = await this.database.run(RENAME, { id, userId, name }, tx);
    return affected > 0;
  }

  /** Deletes the user's passkey `id`; false if the user has none with that id. */
  async delete(tx: Transaction, id: string, userId: string): Promise<boolean> {
    const { affected } = await this.database.run(DELETE, { id, userId }, tx);
    return affected > 0;
  }

  /** Stores a verified assertion's counter; false if the counter did not move forward. */
  async recordUse(
    id: string,
    use: { signCount: number; backedUp: boolean; now: Date },
    tx?: Transaction,
  ): Promise<boolean> {
    const { affected } = await this.database.run(RECORD_USE, { id, ...use }, tx);
    return affected > 0;
  }
}

function toPasskey(row: Row): PasskeyRow {
  return {
    id: row.id,
    userId: row.user_id,
    credentialId: row.credential_id,
    publicKey: row.public_key,
    signCount: Number(row.sign_count),
    transports: row.transports === null || row.transports === '' ? [] : row.transports.split(','),
    deviceType: row.device_type,
    backedUp: row.backed_up === true || row.backed_up === 1,
    aaguid: row.aaguid,
    name: row.name,
    createdAt: toDate(row.created_at),
    lastUsedAt: toDateOrNull(row.last_used_at),
  };
}
