import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { AuditService } from '../src/audit/audit.service';
import { REFUSAL_MAX_KEYS, RefusalAudit } from '../src/audit/refusal-audit';
import { DomainError } from '../src/common/errors/domain-error';
import { RoleName } from '../src/access/role-name';
import { createUser, createUserWithToken, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface Details {
  status: number;
  reason: string;
  route: string | null;
  count: number;
  from: string;
  to: string;
}

describe('audit of refused requests (401, 403, 429), aggregated per minute', () => {
  let t: TestApp;
  let refusals: RefusalAudit;
  before(async () => {
    t = await createTestApp({
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_IP_PER_MINUTE: '3' },
    });
    refusals = t.app.get(RefusalAudit);
  });
  after(async () => {
    await t.close();
  });

  const events = () => t.dataSource.getRepository(AuditEvent);
  const ofType = (type: AuditEvent['type']) =>
    events().find({ where: { type }, order: { sequence: 'ASC' } });
  const details = (event: AuditEvent | undefined) => JSON.parse(event?.details ?? '{}') as Details;

  it('writes one event per kind, reason, client and route per minute, with the count', async () => {
    const user = await createUserWithToken(t, { roles: [RoleName.User] });
    // 401: a forged token three times, and a revoked one (logged out) once.
    for (let index = 0; index < 3; index++) {
      await t.http().get('/api/v1/users/me').set('Authorization', 'Bearer not.a.token').expect(401);
    }
    const revoked = await createUserWithToken(t);
    await t
      .http()
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${revoked.token}`)
      .expect(204);
    await t
      .http()
      .get('/api/v1/users/me')
      .set('Authorization', `Bearer ${revoked.token}`)
      .expect(401);
    // 403: a user at an admin route, twice.
    for (let index = 0; index < 2; index++) {
      await t
        .http()
        .get('/api/v1/audit-events')
        .set('Authorization', `Bearer ${user.token}`)
        .expect(403);
    }
    // 429: login attempts past the per-IP limit (the two logins above counted too).
    const target = await createUser(t);
    let limited = 0;
    for (let index = 0; index < 4; index++) {
      const response = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: target.username, password: TEST_PASSWORD });
      if (response.status === 429) limited += 1;
    }
    assert.ok(limited > 0);

    // Nothing is written while the minute is open, and nothing on the request path.
    await refusals.flushDue();
    assert.equal((await ofType('access.unauthenticated')).length, 0);
    t.clock.advance(61);
    await refusals.flushDue();

    const unauthenticated = await ofType('access.unauthenticated');
    assert.equal(unauthenticated.length, 1);
    assert.deepEqual(
      { ...details(unauthenticated[0]), from: undefined, to: undefined },
      {
        status: 401,
        reason: 'invalid_token',
        route: '/api/v1/users/me',
        count: 4,
        from: undefined,
        to: undefined,
      },
    );
    assert.ok(unauthenticated[0]?.ip);

    const forbidden = await ofType('access.forbidden');
    assert.equal(forbidden.length, 1);
    assert.equal(details(forbidden[0]).count, 2);
    assert.equal(details(forbidden[0]).reason, 'insufficient_role');
    assert.equal(forbidden[0]?.actorId, user.user.id);

    const rateLimited = await ofType('access.rate_limited');
    assert.equal(rateLimited.length, 1);
    assert.deepEqual(
      [details(rateLimited[0]).route, details(rateLimited[0]).count],
      ['/api/v1/auth/login', limited],
    );
    const verified = await t.app.get(AuditService).verifyChain();
    assert.ok(verified.ok, JSON.stringify(verified));
  });

  it('keeps at most REFUSAL_MAX_KEYS keys a minute and counts the rest in one event', async () => {
    const before = await events().count();
    const refused = new DomainError('insufficient_role', 'no');
    for (let index = 0; index < REFUSAL_MAX_KEYS + 25; index++) {
      const ip = `198.51.${Math.floor(index / 256)}.${index % 256}`;
      refusals.observe({ ip, routeOptions: { url: '/api/v1/users' } }, refused);
      // The same client again adds to its count, never a key.
      refusals.observe({ ip, routeOptions: { url: '/api/v1/users' } }, refused);
    }
    t.clock.advance(61);
    await refusals.flushDue();
    assert.equal(await events().count(), before + REFUSAL_MAX_KEYS + 1);
    const [dropped] = await ofType('access.refusals_dropped');
    assert.equal(details(dropped).count, 50);
    const kept = await events().find({ where: { type: 'access.forbidden' } });
    assert.ok(kept.every((event) => [1, 2].includes(details(event).count)));
  });

  it('ignores answers that are not refusals', () => {
    const before = (refusals as unknown as { window?: unknown }).window;
    refusals.observe({ ip: '203.0.113.1' }, new DomainError('user_not_found', 'no'));
    refusals.observe({ ip: '203.0.113.1' }, new Error('boom'));
    assert.equal((refusals as unknown as { window?: unknown }).window, before);
  });
});
