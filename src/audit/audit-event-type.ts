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
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
