import type { UserWithRoles } from '../../users/account-rows';

/** What the JWT guard checks on every request: the user, their roles, the token's session. */
export interface AuthState {
  account: UserWithRoles;
  /** The second factors the account has enrolled (`totp`, `passkey`), for GET /users/me. */
  secondFactors: readonly string[];
  session: SessionState | null;
}

/** The half of an AuthState that changes with the account (a user, role or factor change). */
type AccountState = Pick<AuthState, 'account' | 'secondFactors'>;

export interface SessionState {
  userId: string;
  revokedAt: Date | null;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
}

interface Entry<T> {
  value: T;
  /** Epoch milliseconds after which the entry is not used. */
  expiresAt: number;
}

/** Taken before a database read, handed back to `store()`: see there. */
export type ReadTicket = number;

/**
 * Auth state of recent requests in memory: only what let a request through, dropped when the
 * database reports a change, after `ttlSeconds`, or when over `maxEntries` (oldest first).
 * Accounts and sessions are kept apart because changes name one or the other. A read that
 * started before an invalidation is not stored (its ticket is older than `generation`).
 * docs/decisions.md, "Auth-state cache".
 */
export class AuthStateCache {
  private readonly accounts = new Map<string, Entry<AccountState>>();
  private readonly sessions = new Map<string, Entry<SessionState>>();
  private generation = 0;

  constructor(
    private readonly ttlSeconds: number,
    private readonly maxEntries: number,
  ) {}

  get enabled(): boolean {
    return this.ttlSeconds > 0;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The state of `sessionId` of `userId` if both halves are held and fresh, else undefined. */
  lookup(userId: string, sessionId: string, nowMs: number): AuthState | undefined {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.expiresAt <= nowMs) return undefined;
    const account = this.accounts.get(userId);
    if (account === undefined || account.expiresAt <= nowMs) return undefined;
    if (session.value.userId !== userId) return undefined;
    return { ...account.value, session: session.value };
  }

  begin(): ReadTicket {
    return this.generation;
  }

  /** Keeps a state read from the database since `ticket`, unless something changed meanwhile. */
  store(ticket: ReadTicket, sessionId: string, state: AuthState, nowMs: number): void {
    if (!this.enabled || ticket !== this.generation || state.session === null) return;
    const expiresAt = nowMs + this.ttlSeconds * 1000;
    // Re-inserted so that Map order is insertion order: the oldest go first.
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, { value: state.session, expiresAt });
    this.accounts.delete(state.account.user.id);
    this.accounts.set(state.account.user.id, {
      value: { account: state.account, secondFactors: state.secondFactors },
      expiresAt,
    });
    evictOldest(this.sessions, this.maxEntries);
    evictOldest(this.accounts, this.maxEntries);
  }

  invalidateUser(userId: string): void {
    this.generation++;
    this.accounts.delete(userId);
  }

  invalidateSession(sessionId: string): void {
    this.generation++;
    this.sessions.delete(sessionId);
  }

  invalidateAccounts(): void {
    this.generation++;
    this.accounts.clear();
  }

  invalidateSessions(): void {
    this.generation++;
    this.sessions.clear();
  }

  invalidateAll(): void {
    this.generation++;
    this.accounts.clear();
    this.sessions.clear();
  }
}

function evictOldest(map: Map<string, unknown>, maxEntries: number): void {
  for (const key of map.keys()) {
    if (map.size <= maxEntries) return;
    map.delete(key);
  }
}
