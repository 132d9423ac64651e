import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { AuditService } from '../src/audit/audit.service';
import { RefreshToken } from '../src/sessions/refresh-token.entity';
import { Session } from '../src/sessions/session.entity';
import { hashRefreshToken } from '../src/sessions/sessions.service';
import { NO_REQUEST_CONTEXT } from '../src/common/request-context';
import { RetentionService } from '../src/retention/retention.service';
import { createUser, type LoginPair, loginPair } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

const DAY = 86400;

function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sid: string }).sid;
}

const refresh = (t: TestApp, token: string) =>
  t.http().post('/api/v1/auth/refresh').send({ refresh_token: token });

function logout(t: TestApp, pair: LoginPair) {
  return t
    .http()
    .post('/api/v1/auth/logout')
    .set('Authorization', `Bearer ${pair.access_token}`)
    .expect(204);
}

describe('retention (SPEC §12)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: {
        SESSION_RETENTION_DAYS: '30',
        AUDIT_RETENTION_DAYS: '30',
        RETENTION_INTERVAL_SECONDS: '0',
        // Long enough that the live session survives the 31 days of this test.
        REFRESH_IDLE_TTL: String(30 * DAY),
        REFRESH_ABSOLUTE_TTL: String(365 * DAY),
      },
    });
  });
  after(async () => {
    await t.close();
  });

  const sessions = () => t.dataSource.getRepository(Session);
  const tokens = () => t.dataSource.getRepository(RefreshToken);
  const events = () => t.dataSource.getRepository(AuditEvent);
  const tokenRow = (token: string) => tokens().findOneBy({ tokenHash: hashRefreshToken(token) });

  it('deletes what is past retention, keeps what is within it, and the chain still verifies', async () => {
    const user = await createUser(t);
    // Day 0: a session that lives on (refreshed twice), one logged out now, one later.
    const live = await loginPair(t, user.username);
    const oldLogout = await loginPair(t, user.username);
    const recentLogout = await loginPair(t, user.username);
    await logout(t, oldLogout);
    const r0 = live.refresh_token;
    const second = (await refresh(t, r0).expect(200)).body as LoginPair;
    const r1 = second.refresh_token;
    const dayZeroEvents = await events().count();
    t.clock.advance(20 * DAY);
    // Its access token has expired by now: a refresh gives a fresh one to log out with.
    await logout(t, (await refresh(t, recentLogout.refresh_token).expect(200)).body as LoginPair);
    const r2 = ((await refresh(t, r1).expect(200)).body as LoginPair).refresh_token;
    const audit = t.app.get(AuditService);
    const headBefore = await audit.head();
    assert.ok(headBefore !== null);

    t.clock.advance(11 * DAY);
    const result = await t.app.get(RetentionService).prune();

    // The session logged out 31 days ago is gone with its token; the one 11 days ago stays.
    assert.equal(await sessions().countBy({ id: sessionIdOf(oldLogout.access_token) }), 0);
    assert.equal(await tokens().countBy({ sessionId: sessionIdOf(oldLogout.access_token) }), 0);
    assert.equal(await sessions().countBy({ id: sessionIdOf(recentLogout.access_token) }), 1);
    // Of the live session: the token rotated 31 days ago is gone, the one rotated 11 days
    // ago is kept for reuse detection, and the current one is untouched.
    assert.equal(await tokenRow(r0), null);
    assert.ok((await tokenRow(r1)) !== null);
    assert.ok((await tokenRow(r2)) !== null);
    assert.equal(result.sessions, 1);
    assert.equal(result.refreshTokens, 2);
    assert.equal(result.skipped, false);

    // Audit events of day 0 are pruned behind a checkpoint; those of day 20 remain.
    assert.equal(result.auditEvents, dayZeroEvents);
    assert.equal(result.auditCheckpoint, dayZeroEvents);
    assert.equal(await events().countBy({ sequence: dayZeroEvents }), 0);
    assert.equal(await events().countBy({ sequence: dayZeroEvents + 1 }), 1);
    const verified = await audit.verifyChain({
      sequence: headBefore.sequence,
      hash: headBefore.hash,
    });
    assert.ok(verified.ok, JSON.stringify(verified));
    assert.deepEqual(verified.checkpoint, {
      throughSequence: dayZeroEvents,
      prunedCount: dayZeroEvents,
    });
    // The pass audits itself.
    const [pass] = await events().find({ where: { type: 'retention.pruned' } });
    assert.ok(pass);
    assert.deepEqual(JSON.parse(pass.details), {
      auditCheckpoint: dayZeroEvents,
      auditEvents: dayZeroEvents,
      auditRetentionDays: 30,
      refreshRecords: 2,
      mails: 0,
      mfaChallenges: 0,
      oidcRecords: 0,
      accountRecords: 0,
      mailRetentionDays: 7,
      sessionRetentionDays: 30,
      sessions: 1,
    });

    // A second pass has nothing to do and writes nothing.
    const again = await t.app.get(RetentionService).prune();
    assert.deepEqual([again.sessions, again.refreshTokens, again.auditEvents], [0, 0, 0]);
    assert.equal(await events().countBy({ type: 'retention.pruned' }), 1);

    // The pruned token is only unknown now: refused, the session lives on.
    await refresh(t, r0).expect(401);
    assert.equal(
      (await sessions().findOneByOrFail({ id: sessionIdOf(live.access_token) })).revokedAt,
      null,
    );
    // The kept rotated token is still recognised as reused: the whole session is revoked.
    await refresh(t, r1).expect(401);
    const revoked = await sessions().findOneByOrFail({ id: sessionIdOf(live.access_token) });
    assert.equal(revoked.revokeReason, 'refresh_token_reuse');
    await refresh(t, r2).expect(401);
    const after = await audit.verifyChain();
    assert.ok(after.ok, JSON.stringify(after));
  });

  it('never prunes the newest event, and refuses to prune an altered part of the chain', async () => {
    const audit = t.app.get(AuditService);
    const subject = randomUUID();
    for (let index = 0; index < 3; index++) {
      await audit.record(
        t.dataSource.manager,
        { type: 'user.updated', actorId: null, subjectUserId: subject, details: { index } },
        NO_REQUEST_CONTEXT,
      );
    }
    const mine = await events().find({
      where: { subjectUserId: subject },
      order: { sequence: 'ASC' },
    });
    const edited = mine[1];
    assert.ok(edited);
    await events().update({ id: edited.id }, { details: '{"index":99}' });
    t.clock.advance(400 * DAY);
    const result = await t.app.get(RetentionService).prune();
    assert.match(result.auditProblem ?? '', new RegExp(edited.id));
    // Pruned up to the edited event, not past it: the evidence is kept.
    assert.equal(await events().countBy({ id: edited.id }), 1);
    const verified = await audit.verifyChain();
    assert.ok(!verified.ok);
    assert.equal(verified.brokenEventId, edited.id);
    await events().update({ id: edited.id }, { details: edited.details });
    const repaired = await t.app.get(RetentionService).prune();
    assert.equal(repaired.auditProblem, null);
    // Everything is past retention now but the newest event, which the next append chains to
    // (the first pass's own event); after it, this pass's event.
    const left = await events().find({ order: { sequence: 'ASC' } });
    assert.deepEqual(
      left.map((event) => event.type),
      ['retention.pruned', 'retention.pruned'],
    );
    assert.equal(await events().countBy({ subjectUserId: subject }), 0);
    const final = await audit.verifyChain();
    assert.ok(final.ok, JSON.stringify(final));
  });
});

describe('retention on two instances at once', () => {
  const env = {
    AUDIT_KEY: randomBytes(32).toString('base64url'),
    SESSION_RETENTION_DAYS: '30',
    AUDIT_RETENTION_DAYS: '365',
    RETENTION_INTERVAL_SECONDS: '0',
  };
  let first: TestApp;
  let second: TestApp;
  before(async () => {
    first = await createTestApp({ env });
    second = await createTestApp({ env, database: first.database });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('deletes each row once and leaves one verifiable chain', async () => {
    const user = await createUser(first);
    for (let index = 0; index < 12; index++) await loginPair(first, user.username);
    await first
      .http()
      .post('/api/v1/auth/logout-all')
      .set('Authorization', `Bearer ${(await loginPair(first, user.username)).access_token}`)
      .expect(204);
    const audit = first.app.get(AuditService);
    // More than one batch of audit events (1,000 per batch).
    for (let index = 0; index < 1100; index += 50) {
      await first.dataSource.transaction(async (manager) => {
        for (let offset = 0; offset < 50; offset++) {
          await audit.record(
            manager,
            { type: 'user.updated', actorId: null, subjectUserId: user.user.id },
            NO_REQUEST_CONTEXT,
          );
        }
      });
    }
    const sessionCount = await first.dataSource.getRepository(Session).count();
    const eventCount = await first.dataSource.getRepository(AuditEvent).count();
    assert.equal(sessionCount, 13);
    for (const t of [first, second]) t.clock.advance(400 * DAY);

    const results = await Promise.all([
      first.app.get(RetentionService).prune(),
      second.app.get(RetentionService).prune(),
    ]);
    const total = (key: 'sessions' | 'auditEvents') =>
      results.reduce((sum, result) => sum + result[key], 0);
    assert.equal(total('sessions'), sessionCount);
    // Each event deleted by exactly one of the two: what was deleted and what is left add up
    // to what there was plus the passes' own events (a later pass may prune an earlier one's).
    const passes = results.filter((result) => result.sessions + result.auditEvents > 0).length;
    const left = await first.dataSource.getRepository(AuditEvent).count();
    assert.equal(total('auditEvents') + left, eventCount + passes);
    assert.ok(left >= 1 && left <= passes + 1, `${left} events left after ${passes} passes`);
    assert.equal(await first.dataSource.getRepository(Session).count(), 0);
    assert.equal(await first.dataSource.getRepository(RefreshToken).count(), 0);
    for (const t of [first, second]) {
      const verified = await t.app.get(AuditService).verifyChain();
      assert.ok(verified.ok, JSON.stringify(verified));
      assert.equal(verified.checkpoint?.prunedCount, total('auditEvents'));
    }
  });
});
