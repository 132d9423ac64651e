import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { isSessionLive } from '../../sessions/sessions.service';
import type { AccessTokenClaims } from '../tokens/access-token-checks';
import { type AuthState, AuthStateCache } from './auth-state.cache';
import { AuthStateRepository } from './auth-state.repository';
import { AuthStateSignals } from './auth-state.signals';
import { Metrics } from '../../metrics/metrics.service';

export type { AuthState } from './auth-state.cache';

/** What of a token's claims the auth state is judged against. */
export type AuthStateClaims = Pick<AccessTokenClaims, 'sub' | 'sid' | 'iat'>;

/**
 * The auth state an access token names, if it still lets the token through: from memory when
 * the cache holds it and may be trusted (AuthStateSignals), otherwise from the database (and
 * then kept when it may be).
 */
@Injectable()
export class AuthStateService {
  // Counted here and read by the metrics at scrape time: nothing but an increment per request.
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly cache: AuthStateCache,
    private readonly signals: AuthStateSignals,
    private readonly repository: AuthStateRepository,
    private readonly clock: Clock,
    metrics: Metrics,
  ) {
    metrics.counter(
      'identity_auth_state_cache_lookups_total',
      'Auth-state checks of access tokens: answered from memory (hit) or read from the database (miss)',
      ['result'],
      () => [
        [{ result: 'hit' }, this.hits],
        [{ result: 'miss' }, this.misses],
      ],
    );
  }

  /** The accepted state for `claims` at `now` (see {@link accepts}), or null. */
  async current(claims: AuthStateClaims, now: Date): Promise<AuthState | null> {
    // Memory may only say yes: whatever it would refuse is checked against the database.
    if (await this.signals.trusted()) {
      const cached = this.cache.lookup(claims.sub, claims.sid, now.getTime());
      if (cached !== undefined && accepts(cached, claims, now)) {
        this.hits += 1;
        return cached;
      }
    }
    this.misses += 1;
    const state = await this.read(claims.sub, claims.sid);
    return state !== null && accepts(state, claims, now) ? state : null;
  }

  private async read(userId: string, sessionId: string): Promise<AuthState | null> {
    const ticket = this.cache.begin();
    const state = await this.repository.find(userId, sessionId);
    if (state !== null && this.signals.mayStore()) {
      this.cache.store(ticket, sessionId, state, this.clock.now().getTime());
    }
    return state;
  }
}

/**
 * What may have changed since the token was issued: the session is live and the user's, the
 * user exists and is active, and the password was not changed after the token was issued.
 */
function accepts(
  { account: { user }, session }: AuthState,
  claims: AuthStateClaims,
  now: Date,
): boolean {
  const changedAt = user.passwordChangedAt;
  return (
    user.isActive &&
    !(changedAt && claims.iat <= Math.floor(changedAt.getTime() / 1000)) &&
    session !== null &&
    session.userId === user.id &&
    isSessionLive(session, now)
  );
}
