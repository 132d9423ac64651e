import type { IncomingHttpHeaders } from 'node:http';
import { Strategy } from 'passport-strategy';

type Done = (error: unknown, user?: unknown) => void;

/**
 * A passport strategy that takes the token from `Authorization: Bearer <token>` only: tokens
 * in query strings or bodies end up in logs and browser history, so they are ignored.
 */
export class BearerTokenStrategy extends Strategy {
  constructor(private readonly verify: (token: string, done: Done) => void) {
    super();
  }

  override authenticate(request: { headers: IncomingHttpHeaders }): void {
    const match = /^Bearer +([^\s]+) *$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) {
      this.fail(new Error('No auth token'), 401);
      return;
    }
    this.verify(match[1], (error, user) => {
      if (error !== null && error !== undefined) this.error(error as Error);
      else if (user) this.success(user);
      else this.fail(new Error('Invalid token'), 401);
    });
  }
}
