import { Injectable } from '@nestjs/common';
import type { Transaction } from '../database/database';
import { SecondFactorsRepository } from './second-factors.repository';

/** A kind of second factor a user can have enrolled. */
export type SecondFactorMethod = 'totp' | 'passkey';

export interface SecondFactorStatus {
  /** The enrolled kinds (empty: the password alone signs in). */
  methods: SecondFactorMethod[];
  /** A TOTP enrolment started and not yet confirmed. */
  totpPending: boolean;
  passkeys: number;
  recoveryCodesRemaining: number;
}

/** What second factors a user has: decides whether a password login needs a second step. */
@Injectable()
export class SecondFactors {
  constructor(private readonly repository: SecondFactorsRepository) {}

  async statusOf(userId: string, tx?: Transaction): Promise<SecondFactorStatus> {
    const counts = await this.repository.counts(userId, tx);
    const methods: SecondFactorMethod[] = [];
    if (counts.totpActive) methods.push('totp');
    if (counts.passkeys > 0) methods.push('passkey');
    return {
      methods,
      totpPending: counts.totpPending,
      passkeys: counts.passkeys,
      recoveryCodesRemaining: counts.recoveryCodes,
    };
  }

  /** The enrolled kinds only (a cheaper read than {@link statusOf}: logins). */
  async methodsOf(userId: string, tx?: Transaction): Promise<SecondFactorMethod[]> {
    const enrolled = await this.repository.enrolled(userId, tx);
    const methods: SecondFactorMethod[] = [];
    if (enrolled.totp) methods.push('totp');
    if (enrolled.passkey) methods.push('passkey');
    return methods;
  }
}
