import { Injectable } from '@nestjs/common';
import { RateLimiterService } from '../abuse/rate-limiter.service';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { Transactions } from '../database/database';
import { SecondFactorNotices } from './mails/second-factor-notices';
import { assertMfaEnabled, notEnrolled } from './mfa-feature';
import { Reauthentication } from './reauthentication';
import { RecoveryCodes } from './recovery-codes/recovery-codes';
import { SecondFactors, type SecondFactorStatus } from './second-factors';
import { type TotpEnrolment, TotpFactors } from './totp/totp-factors';

/**
 * A user's own second factors (SPEC §9): enrolling and removing the TOTP authenticator and
 * renewing the recovery codes. Each change re-authenticates first (Reauthentication: the
 * current password or a recent second factor), and audits and notifies in its transaction.
 */
@Injectable()
export class MfaEnrolmentService {
  constructor(
    private readonly totp: TotpFactors,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly factors: SecondFactors,
    private readonly reauthentication: Reauthentication,
    private readonly notices: SecondFactorNotices,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiterService,
    private readonly transactions: Transactions,
    private readonly config: AppConfig,
  ) {}

  status(userId: string): Promise<SecondFactorStatus> {
    assertMfaEnabled(this.config);
    return this.factors.statusOf(userId);
  }

  /** A new pending TOTP secret (replacing a pending one); 409 when TOTP is already active. */
  async startTotp(
    current: AuthenticatedUser,
    currentPassword: string | undefined,
    context: RequestContext,
  ): Promise<TotpEnrolment> {
    assertMfaEnabled(this.config);
    await this.reauthentication.confirm(current, currentPassword, context);
    const { user } = current.account;
    return this.transactions.run(async (tx) => {
      const restarted = (await this.factors.statusOf(user.id, tx)).totpPending;
      const enrolment = await this.totp.begin(tx, user);
      await this.audit.record(
        tx,
        {
          type: 'mfa.totp_enrolment_started',
          actorId: user.id,
          subjectUserId: user.id,
          details: { restarted },
        },
        context,
      );
      return enrolment;
    });
  }

  /**
   * Activates the pending factor with a code from the app and returns a new set of recovery
   * codes, the only time they are shown. A wrong code is 401 `invalid_mfa_code` and leaves the
   * enrolment pending.
   */
  async confirmTotp(
    current: AuthenticatedUser,
    code: string,
    context: RequestContext,
  ): Promise<string[]> {
    assertMfaEnabled(this.config);
    // Codes are six digits: guesses are bounded per account as well as per IP (the guard).
    await this.limiter.consumeAccount({ userId: current.id });
    const { user } = current.account;
    const codes = await this.transactions.run(async (tx) => {
      if (!(await this.totp.confirm(tx, user.id, code))) return null;
      const recoveryCodes = await this.recoveryCodes.regenerate(tx, user.id);
      await this.notices.factorAdded(tx, user, 'totp');
      await this.audit.record(
        tx,
        {
          type: 'mfa.totp_enabled',
          actorId: user.id,
          subjectUserId: user.id,
          details: { recoveryCodes: recoveryCodes.length },
        },
        context,
      );
      return recoveryCodes;
    });
    if (codes === null) {
      throw new DomainError('invalid_mfa_code', 'The code is wrong or expired; try the next one');
    }
    return codes;
  }

  /**
   * Removes the TOTP factor (active or pending); 404 without one. With no second factor left
   * the recovery codes go too: they would recover nothing.
   */
  async removeTotp(
    current: AuthenticatedUser,
    currentPassword: string | undefined,
    context: RequestContext,
  ): Promise<void> {
    assertMfaEnabled(this.config);
    await this.reauthentication.confirm(current, currentPassword, context);
    const { user } = current.account;
    await this.transactions.run(async (tx) => {
      const before = await this.factors.statusOf(user.id, tx);
      const wasActive = before.methods.includes('totp');
      if (!wasActive && !before.totpPending) throw notEnrolled('TOTP is not enrolled');
      await this.totp.remove(tx, user.id);
      const othersLeft = before.methods.some((method) => method !== 'totp');
      const recoveryCodesDeleted = othersLeft ? 0 : await this.recoveryCodes.deleteAll(tx, user.id);
      if (wasActive) await this.notices.factorRemoved(tx, user, 'totp', othersLeft);
      await this.audit.record(
        tx,
        {
          type: 'mfa.totp_removed',
          actorId: user.id,
          subjectUserId: user.id,
          details: { wasActive, recoveryCodesDeleted },
        },
        context,
      );
    });
  }

  /** A new set of recovery codes replacing the old; 404 without a second factor. */
  async regenerateRecoveryCodes(
    current: AuthenticatedUser,
    currentPassword: string | undefined,
    context: RequestContext,
  ): Promise<string[]> {
    assertMfaEnabled(this.config);
    await this.reauthentication.confirm(current, currentPassword, context);
    return this.transactions.run(async (tx) => {
      const { methods } = await this.factors.statusOf(current.id, tx);
      if (methods.length === 0) {
        throw notEnrolled('Recovery codes need a second factor: enrol one first');
      }
      const codes = await this.recoveryCodes.regenerate(tx, current.id);
      await this.audit.record(
        tx,
        {
          type: 'mfa.recovery_codes_generated',
          actorId: current.id,
          subjectUserId: current.id,
          details: { count: codes.length },
        },
        context,
      );
      return codes;
    });
  }
}
