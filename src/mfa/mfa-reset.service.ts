import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { Transactions } from '../database/database';
import { SessionsService } from '../sessions/sessions.service';
import { UsersService } from '../users/users.service';
import { SecondFactorNotices } from './mails/second-factor-notices';
import { assertMfaEnabled } from './mfa-feature';
import { MfaResetRepository } from './mfa-reset.repository';
import { RecoveryCodes } from './recovery-codes/recovery-codes';
import { SecondFactors, type SecondFactorStatus } from './second-factors';
import { TotpFactors } from './totp/totp-factors';

export interface MfaResetOutcome {
  totpRemoved: boolean;
  passkeysRemoved: number;
  recoveryCodesRemoved: number;
  sessionsRevoked: number;
}

/**
 * An administrator's view and reset of a user's second factors (SPEC §9), for a user locked
 * out of theirs. The reset (also `npm run cli -- mfa-reset`) is one transaction: the TOTP
 * factor, recovery codes and passkeys go, every session of the user ends (whoever holds one may
 * be who took the factor), the event is audited and the user told by mail.
 */
@Injectable()
export class MfaResetService {
  constructor(
    private readonly users: UsersService,
    private readonly factors: SecondFactors,
    private readonly totp: TotpFactors,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly passkeys: MfaResetRepository,
    private readonly sessions: SessionsService,
    private readonly notices: SecondFactorNotices,
    private readonly audit: AuditService,
    private readonly transactions: Transactions,
    private readonly config: AppConfig,
  ) {}

  async statusFor(userId: string): Promise<SecondFactorStatus> {
    assertMfaEnabled(this.config);
    if ((await this.users.findWithRoles(userId)) === null) throw userNotFound();
    return this.factors.statusOf(userId);
  }

  /** `actorId`: the administrator, or null for the CLI. 404 for an unknown user. */
  async reset(
    actorId: string | null,
    userId: string,
    context: RequestContext,
  ): Promise<MfaResetOutcome> {
    assertMfaEnabled(this.config);
    return this.transactions.run(async (tx) => {
      const account = await this.users.findWithRolesIn(tx, userId);
      if (account === null) throw userNotFound();
      const { user } = account;
      const outcome: MfaResetOutcome = {
        totpRemoved: await this.totp.remove(tx, user.id),
        passkeysRemoved: await this.passkeys.deletePasskeys(tx, user.id),
        recoveryCodesRemoved: await this.recoveryCodes.deleteAll(tx, user.id),
        sessionsRevoked: await this.sessions.revokeAllForUser(user.id, 'mfa_reset', { tx }),
      };
      await this.notices.resetByAdmin(tx, user);
      // Last in the transaction: the audit append holds a lock until commit.
      await this.audit.record(
        tx,
        {
          type: 'mfa.reset_by_admin',
          actorId,
          subjectUserId: user.id,
          details: { ...outcome, via: actorId === null ? 'cli' : 'api' },
        },
        context,
      );
      return outcome;
    });
  }
}

function userNotFound(): DomainError {
  return new DomainError('user_not_found', 'No such user');
}
