import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { auditEventHash, GENESIS_HASH } from '../src/audit/audit-hash';
import { AuditHeadLogger } from '../src/audit/audit-head-logger';
import { AuditService, NewAuditEvent } from '../src/audit/audit.service';
import { NO_REQUEST_CONTEXT } from '../src/common/request-context';
import { RoleName } from '../src/access/role-name';
import { createTestApp, TestApp } from './helpers/test-app';

// What someone with write access to the database (and no AUDIT_KEY) can do to the log.
describe('audit chain against a database writer (keyed MAC, anchored head)', () => {
  const AUDIT_KEY = randomBytes(32).toString('base64url');
  let t: TestApp;
  let audit: AuditService;
  let pristine: AuditEvent[];
  const admin = randomUUID();
  const victim = randomUUID();

  const events = () => t.dataSource.getRepository(AuditEvent);
  const wipe = () => events().createQueryBuilder().delete().execute();
  const ordered = () => events().find({ order: { sequence: 'ASC' } });

  function record(event: NewAuditEvent): Promise<void> {
    return t.dataSource.transaction((manager) => audit.record(manager, event, NO_REQUEST_CONTEXT));
  }

  /** What an attacker does after an edit: recompute the plain SHA-256 chain from `from` on. */
  async function rechainFrom(from: number): Promise<void> {
    const rows = await ordered();
    let previous = rows.find((row) => row.sequence === from - 1)?.hash ?? GENESIS_HASH;
    for (const row of rows.filter((candidate) => candidate.sequence >= from)) {
      const forged = { ...row, prevHash: previous, keyId: null };
      forged.hash = auditEventHash(forged);
      await events().update(
        { id: row.id },
        { prevHash: forged.prevHash, hash: forged.hash, keyId: null },
      );
      previous = forged.hash;
    }
  }

  before(async () => {
    t = await createTestApp({ env: { AUDIT_KEY } });
    audit = t.app.get(AuditService);
    await record({ type: 'user.registered', actorId: admin, subjectUserId: admin });
    await record({
      type: 'role.granted',
      actorId: null,
      subjectUserId: admin,
      details: { role: RoleName.Admin },
    });
    for (let index = 0; index < 3; index++) {
      await record({
        type: 'auth.login_failed',
        actorId: null,
        subjectUserId: victim,
        details: { loginName: 'victim', reason: 'wrong_password' },
      });
    }
    await record({
      type: 'role.granted',
      actorId: admin,
      subjectUserId: victim,
      details: { role: RoleName.Admin },
    });
    await record({ type: 'user.updated', actorId: admin, subjectUserId: victim });
    await record({ type: 'user.updated', actorId: admin, subjectUserId: admin });
    pristine = await ordered();
  });
  afterEach(async () => {
    // Put the untouched rows back for the next attack.
    await wipe();
    await events().insert(pristine);
  });
  after(async () => {
    await t.close();
  });

  it('accepts the intact chain, with and without the exported head', async () => {
    const head = await audit.head();
    assert.ok(head !== null);
    const plain = await audit.verifyChain();
    assert.ok(plain.ok, JSON.stringify(plain));
    assert.equal(plain.count, pristine.length);
    const anchored = await audit.verifyChain({ sequence: head.sequence, hash: head.hash });
    assert.ok(anchored.ok, JSON.stringify(anchored));
    // An older anchor still holds while the chain grows past it.
    const older = pristine[2];
    assert.ok(older);
    assert.equal(
      (await audit.verifyChain({ sequence: older.sequence, hash: older.hash })).ok,
      true,
    );
  });

  it('logs the head as audit:head prints it, once per change', async () => {
    const head = await audit.head();
    assert.ok(head !== null);
    const logger = t.app.get(AuditHeadLogger);
    assert.equal(
      await logger.logHead(),
      `${head.sequence}:${head.hash} ${head.occurredAt.toISOString()}`,
    );
    assert.equal(await logger.logHead(), undefined);
  });

  it('detects a rewritten login-failure reason even with the SHA-256 chain recomputed', async () => {
    const failure = pristine.find((row) => row.type === 'auth.login_failed');
    assert.ok(failure);
    await events().update(
      { id: failure.id },
      { details: '{"loginName":"victim","reason":"inactive"}' },
    );
    await rechainFrom(failure.sequence);
    const result = await audit.verifyChain();
    assert.ok(!result.ok, 'a recomputed unkeyed chain must not verify');
    assert.equal(result.brokenEventId, failure.id);
    assert.match(result.reason, /unkeyed event follows keyed ones/);

    // Keeping the key id and recomputing the old rule's hash fails at the edited event too.
    await wipe();
    await events().insert(pristine);
    await events().update(
      { id: failure.id },
      {
        details: '{"loginName":"victim","reason":"inactive"}',
        hash: auditEventHash({ ...failure, details: '{"loginName":"victim","reason":"inactive"}' }),
      },
    );
    const kept = await audit.verifyChain();
    assert.ok(!kept.ok);
    assert.equal(kept.brokenEventId, failure.id);
    assert.match(kept.reason, /does not match its MAC/);
  });

  it('detects ROLE_ADMIN grant events deleted and the rest renumbered and re-chained', async () => {
    const grants = pristine.filter((row) => row.type === 'role.granted');
    assert.equal(grants.length, 2);
    await events().delete(grants.map((row) => row.id));
    let removed = 0;
    for (const row of pristine) {
      if (grants.includes(row)) {
        removed += 1;
        continue;
      }
      if (removed > 0) await events().update({ id: row.id }, { sequence: row.sequence - removed });
    }
    const first = grants[0];
    assert.ok(first);
    await rechainFrom(first.sequence);
    const result = await audit.verifyChain();
    assert.ok(!result.ok, 'deleting and renumbering must not verify');
    assert.equal(result.count, first.sequence - 1);
  });

  it('detects the newest events deleted, against the head exported before', async () => {
    const head = await audit.head();
    assert.ok(head !== null);
    const newest = pristine.slice(-2);
    await events().delete(newest.map((row) => row.id));
    // The chain alone cannot tell: what is left is a correct, shorter chain.
    assert.equal((await audit.verifyChain()).ok, true);
    const result = await audit.verifyChain({ sequence: head.sequence, hash: head.hash });
    assert.ok(!result.ok);
    assert.match(result.reason, /the newest events were removed/);

    // Deleting them and appending new ones in their place is caught by the head's hash.
    await record({ type: 'user.updated', actorId: null, subjectUserId: victim });
    await record({ type: 'user.updated', actorId: null, subjectUserId: victim });
    const replaced = await audit.verifyChain({ sequence: head.sequence, hash: head.hash });
    assert.ok(!replaced.ok);
    assert.match(replaced.reason, /not the expected head/);
  });

  it('fails with a wrong key, and verifies with the old key kept as a previous key', async () => {
    const wrongKey = await createTestApp({
      database: t.database,
      env: { AUDIT_KEY: randomBytes(32).toString('base64url') },
    });
    try {
      const result = await wrongKey.app.get(AuditService).verifyChain();
      assert.ok(!result.ok);
      assert.equal(result.brokenEventId, pristine[0]?.id);
      assert.match(result.reason, /neither AUDIT_KEY nor in AUDIT_PREVIOUS_KEYS/);
    } finally {
      await wrongKey.close();
    }
    // Rotation: the new key signs new events, the old one still verifies the older ones.
    const rotated = await createTestApp({
      database: t.database,
      env: { AUDIT_KEY: randomBytes(32).toString('base64url'), AUDIT_PREVIOUS_KEYS: AUDIT_KEY },
    });
    try {
      const service = rotated.app.get(AuditService);
      await rotated.dataSource.transaction((manager) =>
        service.record(
          manager,
          { type: 'user.updated', actorId: null, subjectUserId: victim },
          NO_REQUEST_CONTEXT,
        ),
      );
      const result = await service.verifyChain();
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.count, pristine.length + 1);
    } finally {
      await rotated.close();
    }
  });

  it('verifies events from before keyed chaining, and refuses them after a keyed one', async () => {
    // A database upgraded from the unkeyed chain: its first events are plain SHA-256.
    await wipe();
    let previous = GENESIS_HASH;
    const legacy: AuditEvent[] = [];
    for (let sequence = 1; sequence <= 3; sequence++) {
      const row: AuditEvent = {
        id: randomUUID(),
        sequence,
        occurredAt: t.clock.now(),
        type: 'user.updated',
        actorId: null,
        subjectUserId: victim,
        ip: null,
        userAgent: null,
        requestId: null,
        details: '{}',
        prevHash: previous,
        hash: '',
        keyId: null,
      };
      row.hash = auditEventHash(row);
      previous = row.hash;
      legacy.push(row);
    }
    await events().insert(legacy);
    await record({ type: 'user.updated', actorId: null, subjectUserId: victim });
    const upgraded = await audit.verifyChain();
    assert.ok(upgraded.ok, JSON.stringify(upgraded));
    assert.deepEqual([upgraded.count, upgraded.legacy], [4, 3]);
    // The first keyed event MACs the legacy head, so the legacy prefix is fixed from then on.
    const [firstKeyed] = await events().find({ where: { sequence: 4 } });
    assert.equal(firstKeyed?.prevHash, previous);
    const edited = legacy[1];
    assert.ok(edited);
    await events().update({ id: edited.id }, { details: '{"edited":true}' });
    const result = await audit.verifyChain();
    assert.ok(!result.ok);
    assert.equal(result.brokenEventId, edited.id);
  });
});
