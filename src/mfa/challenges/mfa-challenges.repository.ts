import { Injectable } from '@nestjs/common';
import {
  Database,
  type Statement,
  type Transaction,
  toDate,
  toDateOrNull,
} from '../../database/database';
import type { MfaChallengePurpose } from '../entities/mfa-challenge.entity';

const COLUMNS = `id, user_id, purpose, token_hash, webauthn_challenge, amr, attempts, created_at,
  expires_at, used_at`;

const INSERT: Statement = {
  name: 'mfa_challenges_insert',
  sql: `
    INSERT INTO mfa_challenges (${COLUMNS})
    VALUES (:id, :userId, :purpose, :tokenHash, :webauthnChallenge, :amr, 0, :now, :expiresAt, NULL)`,
};

const FIND_LIVE_BY_TOKEN: Statement = {
  name: 'mfa_challenges_find_live_by_token',
  sql: `
    SELECT ${COLUMNS} FROM mfa_challenges
    WHERE token_hash = :tokenHash AND purpose = :purpose AND used_at IS NULL
      AND expires_at > :now`,
};

// The WHERE is the whole check: of concurrent requests only one spends the challenge.
const SPEND: Statement = {
  name: 'mfa_challenges_spend',
  sql: `
    UPDATE mfa_challenges SET used_at = :now
    WHERE id = :id AND used_at IS NULL AND expires_at > :now`,
};

const SPEND_WEBAUTHN: Statement = {
  name: 'mfa_challenges_spend_webauthn',
  sql: `
    UPDATE mfa_challenges SET used_at = :now
    WHERE webauthn_challenge = :webauthnChallenge AND purpose = :purpose AND used_at IS NULL
      AND expires_at > :now
    RETURNING ${COLUMNS}`,
};

const SET_WEBAUTHN: Statement = {
  name: 'mfa_challenges_set_webauthn',
  sql: `
    UPDATE mfa_challenges SET webauthn_challenge = :webauthnChallenge
    WHERE id = :id AND used_at IS NULL AND expires_at > :now`,
};

// An answer is counted before it is checked (as a password is): of concurrent answers only
// those that find an attempt left get one, so no more than maxAttempts are ever checked.
const RESERVE_ATTEMPT: Statement = {
  name: 'mfa_challenges_reserve_attempt',
  sql: `
    UPDATE mfa_challenges SET attempts = attempts + 1
    WHERE id = :id AND used_at IS NULL AND expires_at > :now AND attempts < :maxAttempts
    RETURNING attempts`,
};

// The last allowed answer was wrong: the challenge dies.
const KILL: Statement = {
  name: 'mfa_challenges_kill',
  sql: `UPDATE mfa_challenges SET used_at = :now WHERE id = :id AND used_at IS NULL`,
};

export interface MfaChallengeRow {
  id: string;
  userId: string | null;
  purpose: MfaChallengePurpose;
  tokenHash: string | null;
  webauthnChallenge: string | null;
  amr: string[];
  attempts: number;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export interface NewMfaChallenge {
  id: string;
  userId: string | null;
  purpose: MfaChallengePurpose;
  tokenHash: string | null;
  webauthnChallenge: string | null;
  amr: string[];
  now: Date;
  expiresAt: Date;
}

interface Row {
  id: string;
  user_id: string | null;
  purpose: MfaChallengePurpose;
  token_hash: string | null;
  webauthn_challenge: string | null;
  amr: string | null;
  attempts: number | string;
  created_at: Date | string;
  expires_at: Date | string;
  used_at: Date | string | null;
}

/** The challenges of second-factor steps in mfa_challenges (MfaChallenge): all their SQL. */
@Injectable()
export class MfaChallengesRepository {
  constructor(private readonly database: Database) {}

  async insert(challenge: NewMfaChallenge, tx?: Transaction): Promise<void> {
    await this.database.run(
      INSERT,
      { ...challenge, amr: challenge.amr.length === 0 ? null : challenge.amr.join(',') },
      tx,
    );
  }

  async findLiveByToken(
    purpose: MfaChallengePurpose,
    tokenHash: string,
    now: Date,
    tx?: Transaction,
  ): Promise<MfaChallengeRow | null> {
    const {
      rows: [row],
    } = await this.database.run<Row>(FIND_LIVE_BY_TOKEN, { purpose, tokenHash, now }, tx);
    return row === undefined ? null : toChallenge(row);
  }

  async spend(id: string, now: Date, tx?: Transaction): Promise<boolean> {
    const { affected } = await this.database.run(SPEND, { id, now }, tx);
    return affected > 0;
  }

  async spendWebauthn(
    purpose: MfaChallengePurpose,
    webauthnChallenge: string,
    now: Date,
    tx?: Transaction,
  ): Promise<MfaChallengeRow | null> {
    const {
      rows: [row],
    } = await this.database.run<Row>(SPEND_WEBAUTHN, { purpose, webauthnChallenge, now }, tx);
    return row === undefined ? null : toChallenge(row);
  }

  async setWebauthnChallenge(id: string, webauthnChallenge: string, now: Date): Promise<boolean> {
    const { affected } = await this.database.run(SET_WEBAUTHN, { id, webauthnChallenge, now });
    return affected > 0;
  }

  /** Takes one attempt of a live challenge: its number (1-based), or null when none is left. */
  async reserveAttempt(id: string, maxAttempts: number, now: Date): Promise<number | null> {
    const {
      rows: [row],
    } = await this.database.run<{ attempts: number | string }>(RESERVE_ATTEMPT, {
      id,
      maxAttempts,
      now,
    });
    return row === undefined ? null : Number(row.attempts);
  }

  async kill(id: string, now: Date): Promise<void> {
    await this.database.run(KILL, { id, now });
  }
}

function toChallenge(row: Row): MfaChallengeRow {
  return {
    id: row.id,
    userId: row.user_id,
    purpose: row.purpose,
    tokenHash: row.token_hash,
    webauthnChallenge: row.webauthn_challenge,
    amr: row.amr === null ? [] : row.amr.split(','),
    attempts: Number(row.attempts),
    createdAt: toDate(row.created_at),
    expiresAt: toDate(row.expires_at),
    usedAt: toDateOrNull(row.used_at),
  };
}
