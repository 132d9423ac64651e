import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  auditEventHash,
  canonicalJson,
  GENESIS_HASH,
  HashedAuditFields,
  withoutSecrets,
} from './audit-hash';

const EVENT: HashedAuditFields = {
  sequence: 1,
  id: '0b6f2a8e-3c1d-4e5f-8a9b-1c2d3e4f5a6b',
  occurredAt: new Date('2026-01-02T03:04:05.678Z'),
  type: 'role.granted',
  actorId: null,
  subjectUserId: '6f1d3c2e-8a4b-4f7e-9c1d-2b3a4c5d6e7f',
  ip: '203.0.113.7',
  userAgent: 'curl/8',
  requestId: 'req-1',
  details: '{"role":"ROLE_ADMIN"}',
  prevHash: GENESIS_HASH,
};

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined }),
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('sorts integer-like keys as strings, not in object order', () => {
    assert.equal(canonicalJson({ 2: 'b', 10: 'a' }), '{"10":"a","2":"b"}');
  });

  it('writes dates as ISO strings and undefined array items as null', () => {
    assert.equal(canonicalJson([new Date(0), undefined]), '["1970-01-01T00:00:00.000Z",null]');
  });
});

describe('withoutSecrets', () => {
  it('drops members named like a password, token or secret at any depth, and says which', () => {
    const dropped: string[] = [];
    assert.deepEqual(
      withoutSecrets(
        {
          username: 'alice',
          password: 'x',
          newPassword: 'x',
          refresh_token: 'x',
          nested: [{ clientSecret: 'x', role: 'ROLE_USER', accessToken: 'x' }],
        },
        dropped,
      ),
      { username: 'alice', nested: [{ role: 'ROLE_USER' }] },
    );
    assert.deepEqual(dropped, [
      'password',
      'newPassword',
      'refresh_token',
      'nested[0].clientSecret',
      'nested[0].accessToken',
    ]);
  });

  it('keeps ids of such things: a row id is not the credential', () => {
    assert.deepEqual(withoutSecrets({ tokenId: 'a', refresh_token_id: 'b' }), {
      tokenId: 'a',
      refresh_token_id: 'b',
    });
  });
});

describe('auditEventHash', () => {
  it('is the SHA-256 of the fields as a JSON array, in the documented order', () => {
    const expected = createHash('sha256')
      .update(
        JSON.stringify([
          1,
          EVENT.id,
          '2026-01-02T03:04:05.678Z',
          'role.granted',
          null,
          EVENT.subjectUserId,
          '203.0.113.7',
          'curl/8',
          'req-1',
          '{"role":"ROLE_ADMIN"}',
          GENESIS_HASH,
        ]),
      )
      .digest('hex');
    assert.equal(auditEventHash(EVENT), expected);
  });

  it('changes with every field', () => {
    const base = auditEventHash(EVENT);
    const changes: Array<Partial<HashedAuditFields>> = [
      { sequence: 2 },
      { id: '1b6f2a8e-3c1d-4e5f-8a9b-1c2d3e4f5a6b' },
      { occurredAt: new Date('2026-01-02T03:04:05.679Z') },
      { type: 'role.revoked' },
      { subjectUserId: null },
      { ip: null },
      { userAgent: 'curl/9' },
      { requestId: null },
      { details: '{"role":"ROLE_USER"}' },
      { prevHash: 'f'.repeat(64) },
    ];
    for (const change of changes) {
      assert.notEqual(auditEventHash({ ...EVENT, ...change }), base, JSON.stringify(change));
    }
  });

  it('cannot be fooled by moving text between adjacent fields', () => {
    assert.notEqual(
      auditEventHash({ ...EVENT, ip: '203.0.113.7curl', userAgent: '/8' }),
      auditEventHash(EVENT),
    );
  });
});
