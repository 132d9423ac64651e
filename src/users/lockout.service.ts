import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import type { RequestContext } from '../common/request-context';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { Transactions } from '../database/database';
import { Metrics } from '../metrics/metrics.service';
import type { User } from './entities/user.entity';
import { UsersRepository } from './users.repository';

/** Why a login (or a re-authentication) failed, as its `auth.login_failed` event says. */
export type LoginFailureReason =
  'unknown_account' | 'wrong_password' | 'wrong_current_password' | 'inactive' | 'locked';

/** One attempt counted against an account before its password is verified. */
export interface Reservation {
  userId: string;
  /** The failure count this attempt made (it counts as a failure until it is resolved). */
  rank: number;
}

// No account has this id: an unknown name runs the reservation against it, so the unknown path
// does the database work of the known one
// (docs/decisions.md, "Unknown login names: the same work, and audited").
const NO_ACCOUNT_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Account lockout: after LOCKOUT_THRESHOLD consecutive failed logins an account is locked for
 * LOCKOUT_BASE_SECONDS, doubling with every further failure after a lock expired, up to
 * LOCKOUT_MAX_SECONDS. An attempt is counted (reserved) before its password is verified; while
 * locked no password is verified and every login fails exactly like a wrong password, without
 * extending the lock. A verified password resolves its reservation; an admin unlock resets all.
 */
@Injectable()
export class LockoutService {
  constructor(
    private readonly users: UsersRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  isLocked(user: Pick<User, 'lockedUntil'>): boolean {
    return user.lockedUntil !== null && user.lockedUntil > this.clock.now();
  }

  /** Seconds an account is locked for after its `failures`-th consecutive failure (0: not locked). */
  lockSeconds(failures: number): number {
    const { threshold, baseSeconds, maxSeconds } = this.config.lockout;
    if (failures < threshold) return 0;
    return Math.min(maxSeconds, baseSeconds * 2 ** Math.min(failures - threshold, 30));
  }

  /**
   * Counts one attempt on `userId` (null: the name matched no account) before its password is
   * verified. Null when nothing was reserved: the account is locked (or does not exist), and no
   * password may be checked. The reservation that locks the account writes its `user.locked`.
   */
  async reserve(userId: string | null, context: RequestContext): Promise<Reservation | null> {
    const limits = this.config.lockout;
    const id = userId ?? NO_ACCOUNT_ID;
    const now = this.clock.now();
    // The common case, one statement without a transaction: the count stays below the threshold.
    const counted = await this.users.countAttempt(id, now, limits.threshold);
    // An unknown name (an id no account has) stops here, after the one statement a known
    // name's attempt costs.
    if (userId === null) return null;
    if (counted !== null) return { userId, rank: counted };
    // Locked, or this attempt reaches the threshold: the lock and its event commit together.
    let locked = false;
    const reserved = await this.transactions.run(async (tx) => {
      const rank = await this.users.reserveAttempt(tx, id, now, limits);
      if (rank === null) return null;
      const lockedFor = this.lockSeconds(rank);
      if (lockedFor > 0) {
        locked = true;
        await this.audit.record(
          tx,
          {
            type: 'user.locked',
            actorId: null,
            subjectUserId: userId,
            details: { seconds: lockedFor },
          },
          context,
        );
      }
      return { userId, rank };
    });
    // Counted once committed: a rolled-back lock locked nobody.
    if (locked) this.metrics.lockout();
    return reserved;
  }

  /** The password of a reserved attempt was right: it, and the failures before it, are undone. */
  async release(reservation: Reservation): Promise<void> {
    await this.users.releaseAttempts(reservation.userId, reservation.rank);
  }

  /**
   * The password of a reserved attempt was right but a second factor must follow: only this
   * attempt is undone, the failures before it stay (wrong codes of earlier logins), until the
   * second factor succeeds and {@link release}s them.
   */
  async withdraw(reservation: Reservation): Promise<void> {
    await this.users.withdrawAttempt(reservation.userId, reservation.rank);
  }

  /**
   * Records a failed login: its `auth.login_failed` event (with no subject for an unknown name).
   * A counted failure was already counted by its reservation. An inactive account's right
   * password releases its reservation in the same transaction.
   */
  async recordFailure(
    subjectUserId: string | null,
    loginName: string,
    reason: LoginFailureReason,
    context: RequestContext,
    release?: Reservation,
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      if (release !== undefined) await this.users.releaseAttempts(release.userId, release.rank, tx);
      await this.audit.record(
        tx,
        {
          type: 'auth.login_failed',
          actorId: null,
          subjectUserId,
          details: { loginName: loginName.slice(0, 254), reason },
        },
        context,
      );
    });
  }

  /** An administrator lifts a lock (and clears the failure count). */
  async unlock(actorId: string, userId: string, context: RequestContext): Promise<void> {
    await this.transactions.run(async (tx) => {
      const user = await this.users.findLockoutState(tx, userId);
      if (user === null) throw new DomainError('user_not_found', 'No such user');
      await this.users.resetLockout(tx, userId);
      await this.audit.record(
        tx,
        {
          type: 'user.unlocked',
          actorId,
          subjectUserId: userId,
          details: { wasLocked: this.isLocked(user), failedLoginCount: user.failedLoginCount },
        },
        context,
      );
    });
  }
}
