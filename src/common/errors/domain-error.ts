/**
 * Errors a service can raise, by code. The one translation to HTTP lives in
 * {@link PROBLEM_TYPES} and the problem-details filter; services never pick status codes.
 */
export type DomainErrorCode =
  | 'invalid_credentials'
  | 'invalid_token'
  | 'invalid_refresh_token'
  | 'session_not_found'
  | 'missing_token'
  | 'insufficient_role'
  | 'username_taken'
  | 'email_taken'
  | 'conflict'
  | 'user_not_found'
  | 'role_not_found'
  | 'oidc_client_not_found'
  | 'last_admin'
  | 'weak_password'
  | 'rate_limited'
  | 'service_unavailable'
  | 'invalid_account_token'
  | 'email_not_verified'
  | 'email_already_verified'
  | 'email_change_needs_confirmation'
  | 'feature_disabled'
  | 'invalid_mfa_token'
  | 'invalid_mfa_code'
  | 'mfa_already_enrolled'
  | 'mfa_not_enrolled'
  | 'mfa_step_up_required'
  | 'mfa_enrolment_required'
  | 'reauthentication_required'
  | 'passkey_not_found'
  | 'passkey_rejected';

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly errors?: FieldError[],
    readonly meta: {
      retryAfterSeconds?: number;
      /** RFC 9470 `max_age` of a step-up challenge: how recent the second factor must be. */
      maxAgeSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const PROBLEM_TYPES: Record<DomainErrorCode, { status: number; title: string }> = {
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  invalid_token: { status: 401, title: 'Invalid token' },
  invalid_refresh_token: { status: 401, title: 'Invalid refresh token' },
  session_not_found: { status: 404, title: 'Session not found' },
  missing_token: { status: 401, title: 'Authentication required' },
  insufficient_role: { status: 403, title: 'Forbidden' },
  username_taken: { status: 409, title: 'Username already taken' },
  email_taken: { status: 409, title: 'Email already registered' },
  conflict: { status: 409, title: 'Conflict' },
  user_not_found: { status: 404, title: 'User not found' },
  role_not_found: { status: 404, title: 'Role not found' },
  // A registered relying party of the OpenID Provider (SPEC §10; src/oidc/clients).
  oidc_client_not_found: { status: 404, title: 'Client not found' },
  last_admin: { status: 409, title: 'Last active administrator' },
  weak_password: { status: 400, title: 'Password rejected' },
  rate_limited: { status: 429, title: 'Too many requests' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  // The token of a mailed link (verification, reset, email change): unknown, used or expired.
  invalid_account_token: { status: 400, title: 'Invalid or expired link' },
  email_not_verified: { status: 403, title: 'Email address not verified' },
  email_already_verified: { status: 409, title: 'Email address already verified' },
  email_change_needs_confirmation: { status: 400, title: 'Email change needs confirmation' },
  feature_disabled: { status: 404, title: 'Not available' },
  // Second factors (SPEC §9; src/mfa).
  invalid_mfa_token: { status: 401, title: 'Invalid or expired MFA token' },
  invalid_mfa_code: { status: 401, title: 'Invalid second-factor code' },
  mfa_already_enrolled: { status: 409, title: 'Second factor already enrolled' },
  mfa_not_enrolled: { status: 404, title: 'Second factor not enrolled' },
  // RFC 9470: 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`.
  mfa_step_up_required: { status: 401, title: 'A recent second factor is required' },
  mfa_enrolment_required: { status: 403, title: 'Second-factor enrolment required' },
  reauthentication_required: { status: 401, title: 'Re-authentication required' },
  passkey_not_found: { status: 404, title: 'Passkey not found' },
  passkey_rejected: { status: 400, title: 'Passkey response rejected' },
};
