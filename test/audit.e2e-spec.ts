import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import type { AuditEventType } from '../src/audit/audit-event-type';
import { auditEventHash, auditEventMac, GENESIS_HASH } from '../src/audit/audit-hash';
import { AuditKeyring } from '../src/audit/audit-key';
import { AuditService, NewAuditEvent } from '../src/audit/audit.service';
import type { AuditEventPageDto } from '../src/audit/dto/audit-event.dto';
import { NO_REQUEST_CONTEXT, RequestContext } from '../src/common/request-context';
import type { ProblemDto } from '../src/common/http/problem.dto';
import { RoleName } from '../src/access/role-name';
import { User } from '../src/users/entities/user.entity';
import { createUser, createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

interface OpenApiOperation {
  security: unknown;
  responses: Record<string, unknown>;
  parameters: Array<{ name: string }>;
  'x-required-roles': unknown;
}

const ITEM_FIELDS = [
  'actorId',
  'details',
  'id',
  'ip',
  'occurredAt',
  'requestId',
  'sequence',
  'subjectUserId',
  'type',
  'userAgent',
];

/** The `index`-th of several events about one subject, recorded at once. */
function numberedUpdate(subject: string, index: number): NewAuditEvent {
  return { type: 'user.updated', actorId: null, subjectUserId: subject, details: { index } };
}

describe('audit log', () => {
  let t: TestApp;
  let audit: AuditService;
  before(async () => {
    t = await createTestApp();
    audit = t.app.get(AuditService);
  });
  after(async () => {
    await t.close();
  });

  const events = () => t.dataSource.getRepository(AuditEvent);

  /** Records one event in a transaction of its own, as a service would with its change. */
  function recordCommitted(
    event: NewAuditEvent,
    context: RequestContext = NO_REQUEST_CONTEXT,
  ): Promise<void> {
    return t.dataSource.transaction((manager) => audit.record(manager, event, context));
  }

  function eventsAbout(subjectUserId: string): Promise<AuditEvent[]> {
    return events().find({ where: { subjectUserId }, order: { sequence: 'ASC' } });
  }

  async function assertChainIntact(): Promise<void> {
    const result = await audit.verifyChain();
    assert.equal(result.ok, true, JSON.stringify(result));
  }

  describe('record()', () => {
    it('writes nothing when the transaction it was recorded in fails', async () => {
      const subject = randomUUID();
      await assert.rejects(
        t.dataSource.transaction(async (manager) => {
          await audit.record(
            manager,
            {
              type: 'user.updated',
              actorId: null,
              subjectUserId: subject,
            },
            NO_REQUEST_CONTEXT,
          );
          throw new Error('the change failed');
        }),
        /the change failed/,
      );
      assert.equal(await events().countBy({ subjectUserId: subject }), 0);
      // No hole either: the next event follows the last committed one.
      await recordCommitted({ type: 'user.updated', actorId: null, subjectUserId: subject });
      await assertChainIntact();
    });

    it('appends a committed event with the next sequence, chained to the previous hash', async () => {
      const actor = randomUUID();
      const subject = randomUUID();
      t.clock.advance(1);
      const at = t.clock.now();
      await recordCommitted({
        type: 'role.granted',
        actorId: actor,
        subjectUserId: subject,
        details: { role: RoleName.Moderator, b: 2, a: { y: 1, x: [true] } },
      });
      await recordCommitted({ type: 'role.revoked', actorId: actor, subjectUserId: subject });

      const [first, second] = await eventsAbout(subject);
      assert.ok(first && second);
      assert.equal(first.type, 'role.granted');
      assert.equal(first.actorId, actor);
      assert.equal(first.occurredAt.toISOString(), at.toISOString());
      assert.equal(first.details, '{"a":{"x":[true],"y":1},"b":2,"role":"ROLE_MODERATOR"}');
      // Outside an HTTP request there is no client to record.
      assert.deepEqual([first.ip, first.userAgent, first.requestId], [null, null, null]);
      assert.equal(second.details, '{}');
      assert.equal(second.sequence, first.sequence + 1);
      assert.equal(second.prevHash, first.hash);
      // An HMAC with this app's AUDIT_KEY, named by its key id: not the plain SHA-256.
      const { id, key } = t.app.get(AuditKeyring).current;
      assert.deepEqual([first.keyId, second.keyId], [id, id]);
      assert.equal(first.hash, auditEventMac(key, { ...first, keyId: id }));
      assert.equal(second.hash, auditEventMac(key, { ...second, keyId: id }));
      assert.notEqual(first.hash, auditEventHash(first));
      assert.match(second.hash, /^[0-9a-f]{64}$/);
      const predecessor = await events().findOneByOrFail({ sequence: first.sequence - 1 });
      assert.equal(first.prevHash, predecessor.hash);
    });

    it('starts the chain at sequence 1 with 64 zeros as prev_hash', async () => {
      const genesis = await events().findOneByOrFail({ sequence: 1 });
      assert.equal(genesis.prevHash, GENESIS_HASH);
      assert.equal(await events().countBy({ prevHash: GENESIS_HASH }), 1);
    });

    it('records the ip, user agent and request id of the request it is given', async () => {
      const subject = randomUUID();
      await recordCommitted(
        { type: 'user.updated', actorId: null, subjectUserId: subject },
        { requestId: 'req-audit-1', ip: '203.0.113.9', userAgent: 'audit-test/1.0' },
      );
      const [event] = await eventsAbout(subject);
      assert.deepEqual(
        [event?.requestId, event?.ip, event?.userAgent],
        ['req-audit-1', '203.0.113.9', 'audit-test/1.0'],
      );
    });

    it('drops any detail named like a password, token or secret', async () => {
      const subject = randomUUID();
      await recordCommitted({
        type: 'auth.login_failed',
        actorId: null,
        subjectUserId: subject,
        details: {
          username: 'alice',
          password: 'plum-tree-harbor-47',
          refreshToken: 'abc',
          nested: { clientSecret: 'xyz', reason: 'bad' },
        },
      });
      const [event] = await eventsAbout(subject);
      assert.equal(event?.details, '{"nested":{"reason":"bad"},"username":"alice"}');
    });

    it('stores upper-case ids as the database returns them, so the hash still verifies', async () => {
      const subject = randomUUID();
      await recordCommitted({
        type: 'user.updated',
        actorId: null,
        subjectUserId: subject.toUpperCase(),
      });
      assert.equal((await eventsAbout(subject)).length, 1);
      await assertChainIntact();
    });

    it('opens a transaction of its own when given none', async () => {
      const subject = randomUUID();
      await audit.record(
        t.dataSource.manager,
        {
          type: 'user.updated',
          actorId: null,
          subjectUserId: subject,
        },
        NO_REQUEST_CONTEXT,
      );
      assert.equal((await eventsAbout(subject)).length, 1);
    });

    it('keeps the events of a deleted user', async () => {
      const user = await createUser(t);
      await recordCommitted({ type: 'user.updated', actorId: null, subjectUserId: user.user.id });
      await t.dataSource.getRepository(User).delete({ id: user.user.id });
      assert.equal((await eventsAbout(user.user.id)).length, 1);
    });

    it('keeps the chain straight when one transaction records several events at once', async () => {
      const subject = randomUUID();
      await t.dataSource.transaction((manager) =>
        Promise.all(
          Array.from({ length: 10 }, (_, index) =>
            audit.record(manager, numberedUpdate(subject, index), NO_REQUEST_CONTEXT),
          ),
        ),
      );
      assert.equal((await eventsAbout(subject)).length, 10);
      await assertChainIntact();
    });
  });

  describe('verifyChain()', () => {
    /** A committed event in the middle of the chain, with events after it. */
    async function middleEvent(): Promise<{ event: AuditEvent; next: AuditEvent }> {
      const subject = randomUUID();
      for (let index = 0; index < 3; index++) {
        await recordCommitted({
          type: 'role.granted',
          actorId: null,
          subjectUserId: subject,
          details: { role: RoleName.Moderator, index },
        });
      }
      const [, event, next] = await eventsAbout(subject);
      assert.ok(event && next);
      return { event, next };
    }

    it('accepts the untouched chain and counts every event', async () => {
      const result = await audit.verifyChain();
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.count, await events().count());
      assert.equal(result.legacy, 0);
      assert.equal(result.checkpoint, null);
      assert.equal(result.head?.sequence, result.count);
    });

    it('names an event whose details were edited in the database', async () => {
      const { event } = await middleEvent();
      await events().update({ id: event.id }, { details: '{"index":1,"role":"ROLE_ADMIN"}' });
      try {
        const result = await audit.verifyChain();
        assert.equal(result.ok, false);
        assert.ok(!result.ok);
        assert.equal(result.brokenEventId, event.id);
        assert.match(result.reason, /altered/);
        assert.equal(result.count, event.sequence - 1);
      } finally {
        await events().update({ id: event.id }, { details: event.details });
      }
      await assertChainIntact();
    });

    it('names an event whose type was edited in the database', async () => {
      const { event } = await middleEvent();
      await events().update({ id: event.id }, { type: 'role.revoked' });
      try {
        const result = await audit.verifyChain();
        assert.ok(!result.ok);
        assert.equal(result.brokenEventId, event.id);
      } finally {
        await events().update({ id: event.id }, { type: event.type });
      }
      await assertChainIntact();
    });

    it('names the event after one that was deleted', async () => {
      const { event, next } = await middleEvent();
      await events().delete({ id: event.id });
      try {
        const result = await audit.verifyChain();
        assert.ok(!result.ok);
        assert.equal(result.brokenEventId, next.id);
        assert.match(result.reason, /missing/);
      } finally {
        await events().insert(event);
      }
      await assertChainIntact();
    });

    it('names an event whose hash was recomputed with the old SHA-256 rule to cover an edit', async () => {
      const { event } = await middleEvent();
      const forged = { ...event, details: '{"index":1,"role":"ROLE_ADMIN"}' };
      await events().update(
        { id: event.id },
        { details: forged.details, hash: auditEventHash(forged) },
      );
      try {
        const result = await audit.verifyChain();
        assert.ok(!result.ok);
        assert.equal(result.brokenEventId, event.id);
        assert.match(result.reason, /MAC/);
      } finally {
        await events().update({ id: event.id }, { details: event.details, hash: event.hash });
      }
      await assertChainIntact();
    });
  });

  describe('GET /api/v1/audit-events', () => {
    let adminToken: string;
    // A user of their own, so other tests' events never show up in these filters.
    const alice = randomUUID();
    const bob = randomUUID();
    const carol = randomUUID();
    const recorded: Partial<Record<string, AuditEvent>> = {};

    before(async () => {
      adminToken = (await createUserWithToken(t, { roles: [RoleName.Admin] })).token;
      const realNow = t.clock.now();
      const plan: Array<[string, AuditEventType, string | null, string | null, string]> = [
        ['granted', 'role.granted', alice, bob, '2001-01-01T00:00:00.000Z'],
        ['revoked', 'role.revoked', alice, bob, '2001-01-02T00:00:00.000Z'],
        ['updated', 'user.updated', bob, carol, '2001-01-03T00:00:00.000Z'],
        ['deleted', 'user.deleted', alice, null, '2001-01-04T00:00:00.000Z'],
        ['activated', 'user.activated', null, bob, '2001-01-05T00:00:00.000Z'],
      ];
      for (const [name, type, actorId, subjectUserId, at] of plan) {
        t.clock.set(new Date(at));
        await recordCommitted({ type, actorId, subjectUserId, details: { name } });
        const [event] = await events().find({
          where: { type },
          order: { sequence: 'DESC' },
          take: 1,
        });
        assert.ok(event);
        recorded[name] = event;
      }
      t.clock.set(realNow);
    });

    async function list(query: Record<string, string | number>, status = 200) {
      const response = await t
        .http()
        .get('/api/v1/audit-events')
        .query(query)
        .set('Authorization', `Bearer ${adminToken}`)
        .expect(status);
      return response.body as AuditEventPageDto & ProblemDto;
    }

    const names = (body: AuditEventPageDto) =>
      body.items.map((item) => (item.details as { name: string }).name);

    it('gives an admin a page of events, newest first, in the documented shape', async () => {
      const body = await list({});
      assert.deepEqual(Object.keys(body).sort(), ['items', 'limit', 'page', 'total']);
      assert.equal(body.page, 1);
      assert.equal(body.limit, 20);
      assert.equal(body.total, await events().count());
      assert.equal(body.items.length, 20);
      const sequences = body.items.map((item) => item.sequence);
      assert.deepEqual(
        sequences,
        [...sequences].sort((a, b) => b - a),
      );
      for (const item of body.items) assert.deepEqual(Object.keys(item).sort(), ITEM_FIELDS);

      const [granted] = (await list({ userId: bob, type: 'role.granted' })).items;
      const event = recorded.granted;
      assert.ok(event);
      assert.deepEqual(granted, {
        id: event.id,
        sequence: event.sequence,
        occurredAt: '2001-01-01T00:00:00.000Z',
        type: 'role.granted',
        actorId: alice,
        subjectUserId: bob,
        ip: null,
        userAgent: null,
        requestId: null,
        details: { name: 'granted' },
      });
    });

    it('filters by user, as actor or subject', async () => {
      const forBob = await list({ userId: bob });
      assert.equal(forBob.total, 4);
      assert.deepEqual(names(forBob), ['activated', 'updated', 'revoked', 'granted']);
      assert.deepEqual(names(await list({ userId: carol })), ['updated']);
      assert.deepEqual(names(await list({ userId: alice.toUpperCase() })), [
        'deleted',
        'revoked',
        'granted',
      ]);
      assert.deepEqual(await list({ userId: randomUUID() }), {
        items: [],
        total: 0,
        page: 1,
        limit: 20,
      });
    });

    it('filters by type', async () => {
      const deleted = await list({ type: 'user.deleted' });
      assert.ok(deleted.items.every((item) => item.type === 'user.deleted'));
      assert.ok(names(deleted).includes('deleted'));
      assert.deepEqual(names(await list({ type: 'role.revoked', userId: bob })), ['revoked']);
      assert.equal((await list({ type: 'admin.created', userId: bob })).total, 0);
    });

    it('filters by an inclusive time range, in any offset', async () => {
      assert.deepEqual(
        names(
          await list({ userId: bob, from: '2001-01-02T00:00:00Z', to: '2001-01-03T00:00:00Z' }),
        ),
        ['updated', 'revoked'],
      );
      assert.deepEqual(names(await list({ userId: bob, from: '2001-01-03T02:00:00+02:00' })), [
        'activated',
        'updated',
      ]);
      assert.deepEqual(names(await list({ userId: bob, to: '2001-01-01T00:00:00.000Z' })), [
        'granted',
      ]);
      assert.equal(
        (await list({ userId: bob, from: '2001-01-06T00:00:00Z', to: '2001-01-01T00:00:00Z' }))
          .total,
        0,
      );
    });

    it('pages with a total that ignores the page', async () => {
      const pages = await Promise.all(
        [1, 2, 3].map((page) => list({ userId: bob, limit: 2, page: page })),
      );
      assert.deepEqual(pages.map(names), [['activated', 'updated'], ['revoked', 'granted'], []]);
      assert.deepEqual(
        pages.map((page) => [page.total, page.page, page.limit]),
        [
          [4, 1, 2],
          [4, 2, 2],
          [4, 3, 2],
        ],
      );
      assert.equal(
        (await list({ limit: 100 })).items.length,
        Math.min(100, await events().count()),
      );
    });

    it('answers 400 for out-of-range or malformed parameters', async () => {
      const invalid: Array<Record<string, string | number>> = [
        { limit: 0 },
        { limit: 101 },
        { limit: 'ten' },
        { page: 0 },
        { page: 1.5 },
        { type: 'user.exploded' },
        { userId: 'not-a-uuid' },
        { from: 'yesterday' },
        { from: '2001-01-01T00:00:00' },
        { to: '2001-13-01T00:00:00Z' },
        { sort: 'sequence' },
      ];
      for (const query of invalid) {
        const body = await list(query, 400);
        assert.equal(body.status, 400, JSON.stringify(query));
      }
    });

    it('is for admins only: 403 for a user or moderator, 401 without a token', async () => {
      for (const roles of [[RoleName.User], [RoleName.Moderator]]) {
        const { token } = await createUserWithToken(t, { roles });
        await t
          .http()
          .get('/api/v1/audit-events')
          .set('Authorization', `Bearer ${token}`)
          .expect(403);
      }
      await t.http().get('/api/v1/audit-events').expect(401);
    });

    it('is documented with its security, roles and parameters', async () => {
      const doc = (await t.http().get('/docs-json').expect(200)).body as {
        paths: Record<string, Record<string, OpenApiOperation>>;
      };
      const operation = doc.paths['/api/v1/audit-events']?.get;
      assert.ok(operation);
      assert.deepEqual(operation.security, [{ bearer: [] }, { oauth2: [] }]);
      assert.deepEqual(operation['x-required-roles'], [RoleName.Admin]);
      for (const status of ['200', '400', '401', '403']) assert.ok(operation.responses[status]);
      assert.deepEqual(operation.parameters.map((parameter) => parameter.name).sort(), [
        'from',
        'limit',
        'page',
        'to',
        'type',
        'userId',
      ]);
    });
  });

  it('leaves a verifiable chain behind', async () => {
    await assertChainIntact();
  });
});

describe('audit log under concurrent transactions', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  // On SQLite this also checks src/database/sqlite-transactions.ts: without the queue, TypeORM
  // runs these 50 transactions on one connection and they fail or nest into each other.
  it('keeps one unforked chain under 50 concurrent appends from separate transactions', async () => {
    const audit = t.app.get(AuditService);
    const subject = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, index) =>
        t.dataSource.transaction((manager) =>
          audit.record(manager, numberedUpdate(subject, index), NO_REQUEST_CONTEXT),
        ),
      ),
    );
    const failures = results.filter((result) => result.status === 'rejected');
    assert.deepEqual(failures, []);
    const written = await t.dataSource
      .getRepository(AuditEvent)
      .find({ where: { subjectUserId: subject }, order: { sequence: 'ASC' } });
    assert.equal(written.length, 50);
    assert.equal(new Set(written.map((event) => event.sequence)).size, 50);
    assert.equal(new Set(written.map((event) => event.prevHash)).size, 50);
    const verified = await audit.verifyChain();
    assert.ok(verified.ok, JSON.stringify(verified));
    assert.equal(verified.count, 50);
  });
});
