import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../common/clock/clock';
import type { Transaction } from '../database/database';
import type { AccountTokenPurpose } from './account-token.entity';
import { AccountTokensRepository } from './account-tokens.repository';

/** 32 random bytes in base64url, without padding: always 43 characters of this alphabet. */
export const ACCOUNT_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function hashAccountToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The single-use tokens the account mails carry (SPEC §8): 256 random bits, only their SHA-256
 * stored; a new one spends the user's older ones of the same purpose.
 */
@Injectable()
export class AccountTokens {
  constructor(
    private readonly repository: AccountTokensRepository,
    private readonly clock: Clock,
  ) {}

  /** A new token for `userId` and `purpose`, mailed to `email`, valid for `ttlSeconds`. */
  async issue(
    tx: Transaction,
    input: { userId: string; purpose: AccountTokenPurpose; email: string; ttlSeconds: number },
  ): Promise<string> {
    const now = this.clock.now();
    const token = randomBytes(32).toString('base64url');
    await this.repository.lockIssue(tx, input.userId, input.purpose);
    await this.repository.spendAll(tx, input.userId, input.purpose, now);
    await this.repository.insert(tx, {
      id: randomUUID(),
      userId: input.userId,
      purpose: input.purpose,
      tokenHash: hashAccountToken(token),
      email: input.email,
      now,
      expiresAt: new Date(now.getTime() + input.ttlSeconds * 1000),
    });
    return token;
  }

  /**
   * Spends `token` if it is an unused, unexpired token of `purpose`: its user and address, or
   * null. Atomic: of concurrent consumers exactly one gets the answer.
   */
  consume(
    tx: Transaction,
    purpose: AccountTokenPurpose,
    token: string,
  ): Promise<{ userId: string; email: string } | null> {
    // A malformed token cannot match any hash: no query for it.
    if (!ACCOUNT_TOKEN_PATTERN.test(token)) return Promise.resolve(null);
    return this.repository.consume(tx, purpose, hashAccountToken(token), this.clock.now());
  }

  /**
   * Whom `token` would name if it were consumed now, without spending it (a reset checks the new
   * password against the account before its transaction); consume() still decides.
   */
  peek(
    purpose: AccountTokenPurpose,
    token: string,
  ): Promise<{ userId: string; email: string } | null> {
    if (!ACCOUNT_TOKEN_PATTERN.test(token)) return Promise.resolve(null);
    return this.repository.findUsable(purpose, hashAccountToken(token), this.clock.now());
  }

  /** Spends every unused token of the user and purpose (a password change ends pending resets). */
  spendAll(tx: Transaction, userId: string, purpose: AccountTokenPurpose): Promise<number> {
    return this.repository.spendAll(tx, userId, purpose, this.clock.now());
  }
}
