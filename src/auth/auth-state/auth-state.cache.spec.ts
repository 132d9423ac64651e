import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoleName } from '../../access/role-name';
import { User } from '../../users/entities/user.entity';
import { AuthState, AuthStateCache } from './auth-state.cache';

const NOW = Date.UTC(2026, 0, 1);

function stateOf(userId: string): AuthState {
  const user = Object.assign(new User(), { id: userId, username: userId, isActive: true });
  return {
    account: { user, roles: [RoleName.User] },
    secondFactors: [],
    session: {
      userId,
      revokedAt: null,
      idleExpiresAt: new Date(NOW + 3_600_000),
      absoluteExpiresAt: new Date(NOW + 7_200_000),
    },
  };
}

describe('AuthStateCache', () => {
  it('answers what it stored until its time is up', () => {
    const cache = new AuthStateCache(60, 10);
    cache.store(cache.begin(), 's1', stateOf('u1'), NOW);
    assert.ok(cache.lookup('u1', 's1', NOW + 59_999));
    assert.equal(cache.lookup('u1', 's1', NOW + 60_000), undefined);
  });

  it('never answers a session for another user', () => {
    const cache = new AuthStateCache(60, 10);
    cache.store(cache.begin(), 's1', stateOf('u1'), NOW);
    cache.store(cache.begin(), 's2', stateOf('u2'), NOW);
    assert.equal(cache.lookup('u2', 's1', NOW), undefined);
  });

  it('refuses to store a read that started before an invalidation', () => {
    const cache = new AuthStateCache(60, 10);
    const ticket = cache.begin();
    cache.invalidateUser('someone-else');
    cache.store(ticket, 's1', stateOf('u1'), NOW);
    assert.equal(cache.lookup('u1', 's1', NOW), undefined);
    cache.store(cache.begin(), 's1', stateOf('u1'), NOW);
    assert.ok(cache.lookup('u1', 's1', NOW));
  });

  it('drops a user, a session, or everything', () => {
    const cache = new AuthStateCache(60, 10);
    const fill = () => {
      cache.store(cache.begin(), 's1', stateOf('u1'), NOW);
      cache.store(cache.begin(), 's2', stateOf('u2'), NOW);
    };
    fill();
    cache.invalidateUser('u1');
    assert.equal(cache.lookup('u1', 's1', NOW), undefined);
    assert.ok(cache.lookup('u2', 's2', NOW));
    fill();
    cache.invalidateSession('s2');
    assert.ok(cache.lookup('u1', 's1', NOW));
    assert.equal(cache.lookup('u2', 's2', NOW), undefined);
    fill();
    cache.invalidateAll();
    assert.equal(cache.size, 0);
    assert.equal(cache.lookup('u1', 's1', NOW), undefined);
  });

  it('holds at most maxEntries sessions, dropping the oldest', () => {
    const cache = new AuthStateCache(60, 2);
    for (const n of [1, 2, 3]) cache.store(cache.begin(), `s${n}`, stateOf(`u${n}`), NOW);
    assert.equal(cache.size, 2);
    assert.equal(cache.lookup('u1', 's1', NOW), undefined);
    assert.ok(cache.lookup('u3', 's3', NOW));
  });

  it('stores nothing when turned off (TTL 0)', () => {
    const cache = new AuthStateCache(0, 10);
    cache.store(cache.begin(), 's1', stateOf('u1'), NOW);
    assert.equal(cache.size, 0);
  });
});
