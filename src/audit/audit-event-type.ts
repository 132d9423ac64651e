/** Every kind of event the audit log records, in the order of SPEC §6. */
export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'auth.login_succeeded',
  'auth.login_failed',
  'user.locked',
  'user.unlocked',
  'auth.logout',
  'auth.logout_all',
  'session.revoked',
  'session.refresh_token_reused',
  'user.password_changed',
  'role.granted',
  'role.revoked',
  'user.activated',
  'user.deactivated',
  'user.updated',
  'user.deleted',
  'admin.created',
  // An account brought in by `import-users` (a FastAPI tutorial's user, bcrypt hash kept).
  'user.imported',
  // Refused requests, aggregated per minute (RefusalAudit): 401, 403, 429, and what overflowed.
  'access.unauthenticated',
  'access.forbidden',
  'access.rate_limited',
  'access.refusals_dropped',
  // One retention pass that deleted something (RetentionService).
  'retention.pruned',
  // Account lifecycle by email (SPEC §8; src/account-lifecycle).
  'user.email_verification_sent',
  'user.email_verified',
  'user.password_reset_requested',
  'user.password_reset',
  'user.email_change_requested',
  'user.email_changed',
  // A mail the outbox gave up on (src/mail).
  'mail.failed',
  // Second factors (SPEC §9; src/mfa).
  'mfa.totp_enrolment_started',
  'mfa.totp_enabled',
  'mfa.totp_removed',
  'mfa.recovery_codes_generated',
  'mfa.recovery_code_used',
  'mfa.verified',
  'mfa.failed',
  'mfa.step_up',
  'mfa.passkey_added',
  'mfa.passkey_renamed',
  'mfa.passkey_removed',
  'mfa.reset_by_admin',
  'mfa.secrets_rekeyed',
  'auth.passkey_login_succeeded',
  'auth.passkey_login_failed',
  // The OpenID Provider (SPEC §10): clients managed by admins, consent given by users.
  'oidc.client_created',
  'oidc.client_updated',
  'oidc.client_secret_rotated',
  'oidc.client_deleted',
  'oidc.consent_granted',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
