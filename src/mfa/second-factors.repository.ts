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

export interface SecondFactorCounts {
  totpActive: boolean;
  totpPending: boolean;
  passkeys: number;
  recoveryCodes: number;
}

/** One read of what second factors a user has, across the MFA tables. */
@Injectable()
export class SecondFactorsRepository {
  constructor(private readonly database: Database) {}

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
