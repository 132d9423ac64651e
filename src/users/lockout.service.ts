import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import type { RequestContext } from '../common/request-context';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { runStatement, type Statement } from '../database/statements';
import { User } from './entities/user.entity';

/** Why a login (or a re-authentication) failed, as its `auth.login_failed` event says. */
export type LoginFailureReason =
  'unknown_account' | 'wrong_password' | 'wrong_current_password' | 'inactive' | 'locked';

/** One attempt counted against an account before its password is verified. */
export interface Reservation {
  userId: string;
  /** The failure count this attempt made (it counts as a failure until it is resolved). */
  rank: number;
}

// Reserves one attempt: only while the account is not locked at :now, adds one failure and, when
// the new count reaches the threshold, locks the account in the same statement. Atomic on both
// databases (PostgreSQL re-checks the WHERE on the row a concurrent reservation committed; SQLite
// has one writer), so concurrent attempts can never reserve more than the lock allows.
// Lock length: min(max, base * 2^(count - threshold)), as lockSeconds() computes it.
const RESERVE: Record<'postgres' | 'sqlite', Statement> = {
  postgres: {
    name: 'identity_lockout_reserve',
    sql: `
      UPDATE users SET
        failed_login_count = failed_login_count + 1,
        locked_until = CASE WHEN failed_login_count + 1 >= :threshold
          THEN CAST(:now AS timestamptz) + CAST(LEAST(CAST(:maxSeconds AS bigint),
            CAST(:baseSeconds AS bigint) << LEAST(failed_login_count + 1 - :threshold, 30))
            AS double precision) * INTERVAL '1 second'
          ELSE locked_until END
      WHERE id = :id AND (locked_until IS NULL OR locked_until <= :now)
      RETURNING failed_login_count AS rank`,
  },
  sqlite: {
    name: 'identity_lockout_reserve',
    sql: `
      UPDATE users SET
        failed_login_count = failed_login_count + 1,
        locked_until = CASE WHEN failed_login_count + 1 >= :threshold
          THEN strftime('%Y-%m-%d %H:%M:%f', :now, '+' || MIN(CAST(:maxSeconds AS INTEGER),
            CAST(:baseSeconds AS INTEGER) << MIN(failed_login_count + 1 - :threshold, 30))
            || ' seconds')
          ELSE locked_until END
      WHERE id = :id AND (locked_until IS NULL OR locked_until <= :now)
      RETURNING failed_login_count AS rank`,
  },
};

// The common case, in one statement of its own: an attempt that leaves the count below the
// threshold locks nothing and writes no event, so it needs no transaction. Anything else (the
// account is locked, or this attempt reaches the threshold) goes to RESERVE in a transaction.
const COUNT_BELOW_THRESHOLD: Statement = {
  name: 'identity_lockout_count',
  sql: `
    UPDATE users SET failed_login_count = failed_login_count + 1
    WHERE id = :id AND (locked_until IS NULL OR locked_until <= :now)
      AND failed_login_count + 1 < :threshold
    RETURNING failed_login_count AS rank`,
};

// A verified password resolves its own reservation and the failures before it. The lock goes only
// if no later attempt was reserved meanwhile (the count reaches 0): a lock those set stays.
// CASE rather than GREATEST/MAX: one text for both databases.
const RELEASE: Statement = {
  name: 'identity_lockout_release',
  sql: `
    UPDATE users SET
      failed_login_count = CASE WHEN failed_login_count > :rank
        THEN failed_login_count - :rank ELSE 0 END,
      locked_until = CASE WHEN failed_login_count <= :rank THEN NULL ELSE locked_until END
    WHERE id = :id`,
};

// No account has this id: an unknown name runs the reservation against it, so the unknown path
// does the database work of the known one (docs/decisions.md, "Login").
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
  private readonly dialect: 'postgres' | 'sqlite';

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {
    this.dialect = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

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
    const { threshold, baseSeconds, maxSeconds } = this.config.lockout;
    const id = userId ?? NO_ACCOUNT_ID;
    const now = this.clock.now();
    const {
      rows: [counted],
    } = await this.alone<{ rank: number | string }>(COUNT_BELOW_THRESHOLD, { id, now, threshold });
    // An unknown name (an id no account has) stops here, after the one statement a known
    // name's attempt costs.
    if (userId === null) return null;
    if (counted !== undefined) return { userId, rank: Number(counted.rank) };
    return this.dataSource.transaction(async (manager) => {
      const { rows } = await runStatement<{ rank: number | string }>(
        this.dataSource,
        manager,
        RESERVE[this.dialect],
        { id, now, threshold, baseSeconds, maxSeconds },
      );
      const [row] = rows;
      if (row === undefined) return null;
      const rank = Number(row.rank);
      const lockedFor = this.lockSeconds(rank);
      if (lockedFor > 0) {
        await this.audit.record(
          manager,
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
  }

  /** The password of a reserved attempt was right: it, and the failures before it, are undone. */
  async release(reservation: Reservation): Promise<void> {
    await this.alone(RELEASE, { id: reservation.userId, rank: reservation.rank });
  }

  /**
   * One statement on its own, atomic by itself: on PostgreSQL autocommitted (no transaction's
   * round trips on every login); on SQLite in a transaction, so that it queues behind others on
   * the one connection instead of joining one.
   */
  private async alone<Row>(
    statement: Statement,
    parameters: Record<string, unknown>,
  ): Promise<{ rows: Row[] }> {
    if (this.dialect === 'postgres') {
      return runStatement<Row>(this.dataSource, undefined, statement, parameters);
    }
    return this.dataSource.transaction((manager) =>
      runStatement<Row>(this.dataSource, manager, statement, parameters),
    );
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
    await this.dataSource.transaction(async (manager) => {
      if (release !== undefined) {
        await runStatement(this.dataSource, manager, RELEASE, {
          id: release.userId,
          rank: release.rank,
        });
      }
      await this.audit.record(
        manager,
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
    await this.dataSource.transaction(async (manager) => {
      const user = await manager.getRepository(User).findOneBy({ id: userId });
      if (user === null) throw new DomainError('user_not_found', 'No such user');
      await manager.update(User, { id: userId }, { failedLoginCount: 0, lockedUntil: null });
      await this.audit.record(
        manager,
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
