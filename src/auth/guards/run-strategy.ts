import type { Strategy } from 'passport-strategy';

export interface StrategyOutcome {
  error: unknown;
  user: unknown;
  info: unknown;
}

interface AugmentedStrategy {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  error(error: unknown): void;
  pass(): void;
  redirect(url: string, status?: number): void;
  authenticate(request: unknown, options?: unknown): void;
}

/**
 * Runs one passport strategy instance for a request, as `passport.authenticate()` does with a
 * custom callback: a fresh object inheriting from the strategy gets the request's action
 * functions and `authenticate()` is called on it; the first action decides. Guards pass their
 * own app's strategy, not a name (docs/decisions.md, "Each app runs its own passport strategy").
 */
export function runStrategy(strategy: Strategy, request: unknown): Promise<StrategyOutcome> {
  return new Promise((resolve) => {
    const perRequest = Object.create(strategy) as AugmentedStrategy;
    perRequest.success = (user, info) => resolve({ error: null, user, info });
    perRequest.fail = (challenge) => resolve({ error: null, user: false, info: challenge });
    perRequest.error = (error) => resolve({ error, user: false, info: undefined });
    // No strategy here passes or redirects; if one did, it did not authenticate anybody.
    perRequest.pass = () => resolve({ error: null, user: false, info: undefined });
    perRequest.redirect = () => resolve({ error: null, user: false, info: undefined });
    try {
      perRequest.authenticate(request, { session: false });
    } catch (error) {
      resolve({ error, user: false, info: undefined });
    }
  });
}
