import assert from 'node:assert/strict';
import { AuditEvent } from '../../src/audit/audit-event.entity';
import { AuthService } from '../../src/auth/auth.service';
import { NO_REQUEST_CONTEXT } from '../../src/common/request-context';
import type { CreatedUser } from './factories';
import type { TestApp } from './test-app';

/** The payload of a JWT, unverified (the tests read what the service signed). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** A password login that must ask for the second factor; its mfa_token. */
export async function mfaToken(t: TestApp, user: CreatedUser): Promise<string> {
  const response = await t
    .http()
    .post('/api/v1/auth/login')
    .send({ username: user.username, password: user.password });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const body = response.body as { mfa_required?: boolean; mfa_token?: string };
  assert.equal(body.mfa_required, true);
  assert.ok(body.mfa_token);
  return body.mfa_token;
}

/** The audit events of `type` about `userId`, oldest first, with their details parsed. */
export async function events(
  t: TestApp,
  type: AuditEvent['type'],
  userId: string,
): Promise<Array<{ details: Record<string, unknown> }>> {
  const rows = await t.dataSource
    .getRepository(AuditEvent)
    .find({ where: { type, subjectUserId: userId }, order: { sequence: 'ASC' } });
  return rows.map((row) => ({ details: JSON.parse(row.details) as Record<string, unknown> }));
}

/**
 * A session that proved only the password, for a user who has a factor now: as sessions
 * started before the enrolment are. Started through the service (a login over HTTP would ask
 * for the factor).
 */
export function passwordSession(
  t: TestApp,
  user: CreatedUser,
): Promise<{ access_token: string; refresh_token: string }> {
  return t.app.get(AuthService).login(user, NO_REQUEST_CONTEXT);
}
