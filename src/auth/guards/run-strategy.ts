import passport from 'passport';
import type { Strategy } from 'passport-strategy';

export interface StrategyOutcome {
  error: unknown;
  user: unknown;
  info: unknown;
}

/**
 * Runs one passport strategy instance for a request. Guards call this with their own app's
 * strategy instead of a name: passport's name registry is process-wide, so with two apps in one
 * process (the multi-instance tests) the last one created would answer for both.
 */
export function runStrategy(
  strategy: Strategy,
  request: unknown,
  response: unknown,
): Promise<StrategyOutcome> {
  return new Promise((resolve) => {
    // A fresh object per request, as passport does for named strategies: it attaches the
    // request's success/fail callbacks to it.
    const perRequest = Object.create(strategy) as Strategy;
    const middleware = passport.authenticate(
      perRequest,
      { session: false },
      (error: unknown, user: unknown, info: unknown) => resolve({ error, user, info }),
    ) as (request: unknown, response: unknown, next: (error?: unknown) => void) => void;
    middleware(request, response, (error) => resolve({ error, user: false, info: undefined }));
  });
}
