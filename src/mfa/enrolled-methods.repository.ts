import { Injectable } from '@nestjs/common';
import { Database, type Statement } from '../database/database';
import type { SecondFactorMethod } from './second-factors';

// GET /users/me runs this on every request: two index probes, nothing counted.
const METHODS: Statement = {
  name: 'mfa_enrolled_methods',
  sql: `
    SELECT
      CASE WHEN EXISTS (SELECT 1 FROM mfa_totp_factors
        WHERE user_id = :userId AND confirmed_at IS NOT NULL) THEN 1 ELSE 0 END AS totp,
      CASE WHEN EXISTS (SELECT 1 FROM webauthn_credentials
        WHERE user_id = :userId) THEN 1 ELSE 0 END AS passkey`,
};

/** Which kinds of second factor a user has enrolled, in the order SecondFactors lists them. */
@Injectable()
export class EnrolledMethodsRepository {
  constructor(private readonly database: Database) {}

  async methodsOf(userId: string): Promise<SecondFactorMethod[]> {
    const {
      rows: [row],
    } = await this.database.run<{ totp: number | string; passkey: number | string }>(METHODS, {
      userId,
    });
    const methods: SecondFactorMethod[] = [];
    if (Number(row?.totp ?? 0) === 1) methods.push('totp');
    if (Number(row?.passkey ?? 0) === 1) methods.push('passkey');
    return methods;
  }
}
