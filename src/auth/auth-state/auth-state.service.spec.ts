import { Metrics } from '../../metrics/metrics.service';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClock } from '../../../test/helpers/test-clock';
import { RoleName } from '../../access/role-name';
import { User } from '../../users/entities/user.entity';
import { type AuthState, AuthStateCache } from './auth-state.cache';
import type { AuthStateRepository } from './auth-state.repository';
import { AuthStateService } from './auth-state.service';
import type { AuthStateSignals } from './auth-state.signals';

const USER = '7d0c4c5e-2f7a-4e8e-9a57-0d1f1d3f6a11';
const SESSION = 'b4e0f8a2-9c1d-4f3e-8a6b-2c5d7e9f0a13';

function setup(options: { trusted?: boolean; mayStore?: boolean } = {}) {
  const clock = new TestClock();
  const now = clock.now();
  const nowSeconds = clock.nowSeconds();
  const cache = new AuthStateCache(60, 10);
  let inDatabase: AuthState | null = stateAt(now, {});
  const reads: string[] = [];
  const repository = {
    find: (userId: string, sessionId: string) => {
      reads.push(`${userId}/${sessionId}`);
      return Promise.resolve(inDatabase);
    },
  } as unknown as AuthStateRepository;
  const signals = {
    trusted: () => Promise.resolve(options.trusted ?? true),
    mayStore: () => options.mayStore ?? true,
  } as unknown as AuthStateSignals;
  const service = new AuthStateService(cache, signals, repository, clock, new Metrics());
  const claims = { sub: USER, sid: SESSION, iat: nowSeconds };
  return {
    now,
    claims,
    cache,
    reads,
    service,
    setDatabase: (state: AuthState | null) => {
      inDatabase = state;
    },
  };
}

function stateAt(
  now: Date,
  change: { isActive?: boolean; passwordChangedAt?: Date; sessionUserId?: string; revoked?: true },
): AuthState {
  const user = Object.assign(new User(), {
    id: USER,
    username: 'alice',
    isActive: change.isActive ?? true,
    passwordChangedAt: change.passwordChangedAt ?? null,
  });
  return {
    account: { user, roles: [RoleName.User] },
    secondFactors: [],
    session: {
      userId: change.sessionUserId ?? USER,
      revokedAt: change.revoked ? now : null,
      idleExpiresAt: new Date(now.getTime() + 3_600_000),
      absoluteExpiresAt: new Date(now.getTime() + 7_200_000),
    },
  };
}

describe('AuthStateService.current', () => {
  it('reads the database once, then answers from memory', async () => {
    const { service, claims, now, reads } = setup();
    assert.equal((await service.current(claims, now))?.account.user.id, USER);
    assert.ok(await service.current(claims, now));
    assert.equal(reads.length, 1);
  });

  it('refuses an inactive user, a password changed at or after iat, a revoked or foreign session', async () => {
    for (const change of [
      { isActive: false },
      { passwordChangedAt: new Date() },
      { revoked: true as const },
      { sessionUserId: '00000000-0000-4000-8000-000000000000' },
    ]) {
      const { service, claims, now, setDatabase } = setup();
      setDatabase(stateAt(now, change));
      assert.equal(await service.current(claims, now), null, JSON.stringify(change));
    }
    const { service, claims, now, setDatabase } = setup();
    setDatabase(null);
    assert.equal(await service.current(claims, now), null);
  });

  it('lets memory only say yes: a refusal from memory is checked against the database', async () => {
    const { service, claims, now, reads, cache } = setup();
    const old = { ...claims, iat: claims.iat - 10 };
    const changed = stateAt(now, { passwordChangedAt: new Date((claims.iat - 5) * 1000) });
    cache.store(cache.begin(), SESSION, changed, now.getTime());
    // The token issued after the change is accepted from memory; the older one goes to the
    // database, which here says the change did not happen.
    assert.ok(await service.current(claims, now));
    assert.equal(reads.length, 0);
    assert.ok(await service.current(old, now));
    assert.equal(reads.length, 1);
  });

  it('reads every time while memory is not trusted, and keeps nothing it may not store', async () => {
    const untrusted = setup({ trusted: false });
    await untrusted.service.current(untrusted.claims, untrusted.now);
    await untrusted.service.current(untrusted.claims, untrusted.now);
    assert.equal(untrusted.reads.length, 2);

    const noStore = setup({ mayStore: false });
    await noStore.service.current(noStore.claims, noStore.now);
    assert.equal(noStore.cache.size, 0);
    await noStore.service.current(noStore.claims, noStore.now);
    assert.equal(noStore.reads.length, 2);
  });
});
