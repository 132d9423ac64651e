import { Injectable } from '@nestjs/common';
import { Database, type Statement, type Transaction } from '../database/database';

const DELETE_PASSKEYS: Statement = {
  name: 'mfa_reset_delete_passkeys',
  sql: `DELETE FROM webauthn_credentials WHERE user_id = :userId`,
};

/**
 * What an administrator's reset of a user's second factors deletes besides the TOTP factor and
 * the recovery codes (their own repositories): every passkey of the user.
 */
@Injectable()
export class MfaResetRepository {
  constructor(private readonly database: Database) {}

  async deletePasskeys(tx: Transaction, userId: string): Promise<number> {
    const { affected } = await this.database.run(DELETE_PASSKEYS, { userId }, tx);
    return affected;
  }
}
