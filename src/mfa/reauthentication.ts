import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { secondFactorWithin } from '../access/sign-in-proof';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { PasswordCheck } from '../users/password-check.service';

/**
 * Re-authentication before a change to how an account signs in (SPEC §8): the current
 * password, or a second factor proven in this session within MFA_STEP_UP_MAX_AGE. A wrong
 * password counts as a failed login (a stolen access token must not become a guessing oracle).
 */
@Injectable()
export class Reauthentication {
  constructor(
    private readonly passwords: PasswordCheck,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async confirm(
    user: AuthenticatedUser,
    currentPassword: string | undefined,
    context: RequestContext,
  ): Promise<void> {
    if (currentPassword !== undefined) {
      await this.passwords.reauthenticate(user, currentPassword, context);
      return;
    }
    if (secondFactorWithin(user.mfaAt, this.clock.now(), this.config.mfa.stepUpMaxAgeSeconds)) {
      return;
    }
    throw new DomainError(
      'reauthentication_required',
      'Confirm it is you: send currentPassword, or prove a second factor first (POST /auth/mfa/step-up)',
      undefined,
      { maxAgeSeconds: this.config.mfa.stepUpMaxAgeSeconds },
    );
  }
}
