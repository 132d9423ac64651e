import { Injectable } from '@nestjs/common';
import { Database, type Statement, type Transaction } from '../database/database';

const STATUS: Statement = {
  name: 'mfa_status',
  sql: `
    SELECT
      (SELECT COUNT(*) FROM mfa_totp_factors
        WHERE user_id = :userId AND confirmed_at IS NOT NULL) AS totp_active,
      (SELECT COUNT(*) FROM mfa_totp_factors
        WHERE user_id = :userId AND confirmed_at IS NULL) AS totp_pending,
      (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = :userId) AS passkeys,
      (SELECT COUNT(*) FROM mfa_recovery_codes
        WHERE user_id = :userId AND used_at IS NULL) AS recovery_codes`,
};

// Logins run this on every request: two index probes, nothing counted (GET /users/me reads the
// same with the auth state, src/auth/auth-state).
const METHODS: Statement = {
  name: 'mfa_enrolled_methods',
  sql: `
    SELECT
      CASE WHEN EXISTS (SELECT 1 FROM mfa_totp_factors
        WHERE user_id = :userId AND confirmed_at IS NOT NULL) THEN 1 ELSE 0 END AS totp,
      CASE WHEN EXISTS (SELECT 1 FROM webauthn_credentials
        WHERE user_id = :userId) THEN 1 ELSE 0 END AS passkey`,
};

export interface SecondFactorCounts {
  totpActive: boolean;
  totpPending: boolean;
  passkeys: number;
  recoveryCodes: number;
}

/** What second factors a user has, across the MFA tables, each in one read. */
@Injectable()
export class SecondFactorsRepository {
  constructor(private readonly database: Database) {}

  /** Whether an active TOTP factor and any passkey exist. */
  async enrolled(userId: string, tx?: Transaction): Promise<{ totp: boolean; passkey: boolean }> {
    const {
      rows: [row],
    } = await this.database.run<{ totp: number | string; passkey: number | string }>(
      METHODS,
      { userId },
      tx,
    );
    return { totp: Number(row?.totp ?? 0) === 1, passkey: Number(row?.passkey ?? 0) === 1 };
  }

  async counts(userId: string, tx?: Transaction): Promise<SecondFactorCounts> {
    const {
      rows: [row],
    } = await this.database.run<Record<string, number | string>>(STATUS, { userId }, tx);
    const count = (name: string) => Number(row?.[name] ?? 0);
    return {
      totpActive: count('totp_active') > 0,
      totpPending: count('totp_pending') > 0,
      passkeys: count('passkeys'),
      recoveryCodes: count('recovery_codes'),
    };
  }
}
