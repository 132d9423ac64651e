import { DomainError } from '../common/errors/domain-error';
import type { AppConfig } from '../config/app-config';

export const MFA_DISABLED_MESSAGE = 'Second factors are not enabled on this service';

/** MFA_ENABLED=false: the second-factor routes answer 404 `feature_disabled`. */
export function assertMfaEnabled(config: AppConfig): void {
  if (!config.mfa.enabled) throw new DomainError('feature_disabled', MFA_DISABLED_MESSAGE);
}

export function notEnrolled(message = 'You have no second factor'): DomainError {
  return new DomainError('mfa_not_enrolled', message);
}
