import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { AuditService } from '../src/audit/audit.service';
import { createUser } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/u;

describe('client-supplied values in the audit log: bounded, no control characters', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('stores a login name with CR/LF and a huge user agent cleaned and bounded', async () => {
    const user = await createUser(t);
    // Node reads header bytes as Latin-1: a byte 0x85 is \u0085 (NEL), a C1 line break.
    const userAgent = `evil\tagent\u0085${'x'.repeat(10_000)}`;
    await t
      .http()
      .post('/api/v1/auth/login')
      .set('User-Agent', userAgent)
      .send({ username: `${user.username}\r\n`, password: 'wrong-password-123' })
      .expect(401);
    const [event] = await t.dataSource
      .getRepository(AuditEvent)
      .find({ where: { type: 'auth.login_failed', subjectUserId: user.user.id } });
    assert.ok(event);
    const details = JSON.parse(event.details) as { loginName: string };
    assert.equal(details.loginName, `${user.username}\uFFFD\uFFFD`);
    assert.ok(event.userAgent !== null);
    assert.ok(!CONTROL.test(event.userAgent), JSON.stringify(event.userAgent.slice(0, 20)));
    // The C1 byte 0x85 arrives (after supertest's UTF-8 0xC2) and is replaced like the TAB.
    assert.equal(event.userAgent.slice(0, 12), 'evil\uFFFDagent\u00C2\uFFFD');
    assert.equal(Array.from(event.userAgent).length, 512);
  });

  it('stores a session with the same cleaned, bounded user agent', async () => {
    const user = await createUser(t);
    const userAgent = `evil\tagent\u0085${'x'.repeat(10_000)}`;
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .set('User-Agent', userAgent)
      .send({ username: user.username, password: user.password })
      .expect(200);
    const sessions = await t
      .http()
      .get('/api/v1/auth/sessions')
      .set('Authorization', `Bearer ${(login.body as { access_token: string }).access_token}`)
      .expect(200);
    const [session] = sessions.body as Array<{ userAgent: string | null }>;
    assert.ok(session?.userAgent);
    assert.ok(!CONTROL.test(session.userAgent), JSON.stringify(session.userAgent.slice(0, 20)));
    assert.equal(session.userAgent.slice(0, 12), 'evil\uFFFDagent\u00C2\uFFFD');
    assert.equal(Array.from(session.userAgent).length, 512);
  });

  it('cleans every string of the details and the request context, at any depth', async () => {
    const subject = randomUUID();
    const audit = t.app.get(AuditService);
    await audit.record(
      t.dataSource.manager,
      {
        type: 'user.updated',
        actorId: null,
        subjectUserId: subject,
        details: { loginName: `a\u0000b${'y'.repeat(5000)}`, nested: [{ note: 'x\u2028y' }] },
      },
      { requestId: 'id\r\nforged', ip: '203.0.113.5\n', userAgent: '\u009b31m' },
    );
    const event = await t.dataSource
      .getRepository(AuditEvent)
      .findOneByOrFail({ subjectUserId: subject });
    const details = JSON.parse(event.details) as { loginName: string; nested: [{ note: string }] };
    assert.equal(details.loginName.length, 256);
    assert.ok(details.loginName.startsWith('a\uFFFDb'));
    assert.equal(details.nested[0].note, 'x\uFFFDy');
    assert.deepEqual(
      [event.requestId, event.ip, event.userAgent],
      ['id\uFFFD\uFFFDforged', '203.0.113.5\uFFFD', '\uFFFD31m'],
    );
    const verified = await audit.verifyChain();
    assert.ok(verified.ok, JSON.stringify(verified));
  });
});
