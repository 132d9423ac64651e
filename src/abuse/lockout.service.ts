import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import type { RequestContext } from '../common/request-context';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { User } from '../users/entities/user.entity';

/**
 * Account lockout: after LOCKOUT_THRESHOLD consecutive failed logins an account is locked for
 * LOCKOUT_BASE_SECONDS, doubling with every further failure up to LOCKOUT_MAX_SECONDS. While
 * locked every login fails exactly like a wrong password, and attempts do not extend the lock.
 * A successful login or an admin unlock resets the count. Unknown names touch no rows.
 */
@Injectable()
export class LockoutService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
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
   * Records a failed login of an existing account: the audit event and, when `counts`, one more
   * consecutive failure (locking the account when it reaches the threshold).
   */
  async recordFailure(
    user: Pick<User, 'id' | 'lockedUntil'>,
    loginName: string,
    reason: 'wrong_password' | 'wrong_current_password' | 'inactive' | 'locked',
    context: RequestContext,
  ): Promise<void> {
    const counts = reason === 'wrong_password' || reason === 'wrong_current_password';
    await this.dataSource.transaction(async (manager) => {
      let lockedFor = 0;
      if (counts && !this.isLocked(user)) {
        // Incremented in SQL so concurrent failures all count.
        await manager
          .createQueryBuilder()
          .update(User)
          .set({ failedLoginCount: () => 'failed_login_count + 1' })
          .where('id = :id', { id: user.id })
          .execute();
        const { failedLoginCount } = await manager
          .getRepository(User)
          .findOneOrFail({ where: { id: user.id }, select: { id: true, failedLoginCount: true } });
        lockedFor = this.lockSeconds(failedLoginCount);
        if (lockedFor > 0) {
          const lockedUntil = new Date(this.clock.now().getTime() + lockedFor * 1000);
          await manager.update(User, { id: user.id }, { lockedUntil });
        }
      }
      await this.audit.record(
        manager,
        {
          type: 'auth.login_failed',
          actorId: null,
          subjectUserId: user.id,
          details: { loginName: loginName.slice(0, 254), reason },
        },
        context,
      );
      if (lockedFor > 0) {
        await this.audit.record(
          manager,
          {
            type: 'user.locked',
            actorId: null,
            subjectUserId: user.id,
            details: { seconds: lockedFor },
          },
          context,
        );
      }
    });
  }

  /** A successful login clears the failure count. */
  async recordSuccess(user: Pick<User, 'id' | 'failedLoginCount' | 'lockedUntil'>): Promise<void> {
    if (user.failedLoginCount === 0 && user.lockedUntil === null) return;
    await this.dataSource.transaction((manager) =>
      manager.update(User, { id: user.id }, { failedLoginCount: 0, lockedUntil: null }),
    );
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
