import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { DomainError } from '../../common/errors/domain-error';
import { AppConfig } from '../../config/app-config';
import type { Transaction } from '../../database/database';
import { MfaSecretBox } from '../mfa-secret-box';
import { acceptedStep, newTotpSecret } from './totp-codes';
import { TotpRepository } from './totp.repository';

export interface TotpEnrolment {
  /** Base32, for typing into an app that cannot scan. */
  secret: string;
  otpauthUri: string;
  /** The otpauth URI as a QR code, a `data:image/png;base64,` URL. */
  qrCode: string;
}

/**
 * A user's TOTP factor (otplib): enrolment, confirmation, and checking a code, which spends its
 * time step so the code works once. Secrets are sealed by MfaSecretBox; callers audit and notify.
 */
@Injectable()
export class TotpFactors {
  constructor(
    private readonly repository: TotpRepository,
    private readonly box: MfaSecretBox,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** Starts enrolment (or restarts a pending one); `mfa_already_enrolled` once confirmed. */
  async begin(tx: Transaction, user: { id: string; email: string }): Promise<TotpEnrolment> {
    const enrolment = await newTotpSecret(this.config.mail.productName, user.email);
    const stored = await this.repository.upsertPending(
      tx,
      user.id,
      this.box.seal(enrolment.secret, user.id),
      this.clock.now(),
    );
    if (!stored) throw alreadyEnrolled();
    return enrolment;
  }

  /**
   * Activates the pending factor if `code` is right (and spends the code); false if wrong.
   * `mfa_not_enrolled` without a pending factor, `mfa_already_enrolled` when already active.
   */
  async confirm(tx: Transaction, userId: string, code: string): Promise<boolean> {
    const factor = await this.repository.find(userId, tx);
    if (factor === null) {
      throw new DomainError('mfa_not_enrolled', 'Start TOTP enrolment first');
    }
    if (factor.confirmedAt !== null) throw alreadyEnrolled();
    if (!(await this.spend(factor, code, tx))) return false;
    return this.repository.confirm(tx, userId, this.clock.now());
  }

  /** Whether `code` is a current, unused code of the user's active factor; spends it if so. */
  async check(userId: string, code: string, tx?: Transaction): Promise<boolean> {
    const factor = await this.repository.find(userId, tx);
    if (factor === null || factor.confirmedAt === null) return false;
    return this.spend(factor, code, tx);
  }

  async isEnabled(userId: string, tx?: Transaction): Promise<boolean> {
    const factor = await this.repository.find(userId, tx);
    return factor !== null && factor.confirmedAt !== null;
  }

  /** Deletes the factor, active or pending; whether there was one. */
  remove(tx: Transaction, userId: string): Promise<boolean> {
    return this.repository.delete(tx, userId);
  }

  private async spend(
    factor: { userId: string; secretCiphertext: string; lastUsedStep: number | null },
    code: string,
    tx?: Transaction,
  ): Promise<boolean> {
    const secret = this.box.open(factor.secretCiphertext, factor.userId);
    const step = await acceptedStep(secret, code, this.clock.nowSeconds(), factor.lastUsedStep);
    if (step === null) return false;
    return this.repository.useStep(factor.userId, factor.secretCiphertext, step, tx);
  }
}

function alreadyEnrolled(): DomainError {
  return new DomainError(
    'mfa_already_enrolled',
    'TOTP is already enabled; remove it before enrolling a new authenticator',
  );
}
