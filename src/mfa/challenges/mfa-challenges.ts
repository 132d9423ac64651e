import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock/clock';
import { AppConfig } from '../../config/app-config';
import type { Transaction } from '../../database/database';
import type { MfaChallengePurpose } from '../entities/mfa-challenge.entity';
import { type MfaChallengeRow, MfaChallengesRepository } from './mfa-challenges.repository';

export type { MfaChallengeRow } from './mfa-challenges.repository';

/** The one answer to an mfa_token that is unknown, expired, spent or out of attempts. */
export const INVALID_MFA_TOKEN_MESSAGE = 'The MFA token is invalid, expired or already used';

/**
 * Short-lived, single-use challenges of second-factor steps. A login's `mfa_token`: 256 random
 * bits, only its SHA-256 stored, MFA_TOKEN_TTL seconds, dead after MFA_TOKEN_MAX_ATTEMPTS
 * wrong answers. WebAuthn challenges (passkey sign-in, registration, step-up) are spent by the
 * challenge the authenticator signed.
 */
@Injectable()
export class MfaChallenges {
  constructor(
    private readonly repository: MfaChallengesRepository,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** A login waiting for its second factor: the `mfa_token` to hand the client. */
  async issueToken(
    userId: string,
    amr: string[],
    tx?: Transaction,
  ): Promise<{ token: string; expiresIn: number; challengeId: string }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresIn = this.config.mfa.tokenTtlSeconds;
    const challengeId = randomUUID();
    await this.repository.insert(
      {
        id: challengeId,
        userId,
        purpose: 'login',
        tokenHash: hashOf(token),
        webauthnChallenge: null,
        amr,
        now,
        expiresAt: new Date(now.getTime() + expiresIn * 1000),
      },
      tx,
    );
    return { token, expiresIn, challengeId };
  }

  /** The live login challenge of `token` (unspent, unexpired, attempts left), or null. */
  findByToken(token: string, tx?: Transaction): Promise<MfaChallengeRow | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return Promise.resolve(null);
    return this.repository.findLiveByToken('login', hashOf(token), this.clock.now(), tx);
  }

  /** Spends a challenge; false if another request spent it first or it expired. */
  spend(id: string, tx?: Transaction): Promise<boolean> {
    return this.repository.spend(id, this.clock.now(), tx);
  }

  /**
   * Takes one of the challenge's MFA_TOKEN_MAX_ATTEMPTS before an answer is checked: the
   * attempt's number, or null when the challenge is spent, expired or out of attempts.
   */
  reserveAttempt(id: string): Promise<number | null> {
    return this.repository.reserveAttempt(id, this.config.mfa.tokenMaxAttempts, this.clock.now());
  }

  /**
   * The answer of attempt `attempt` was wrong: the last allowed one kills the challenge. True
   * while it still takes another answer.
   */
  async fail(id: string, attempt: number): Promise<boolean> {
    if (attempt < this.config.mfa.tokenMaxAttempts) return true;
    await this.repository.kill(id, this.clock.now());
    return false;
  }

  /** Stores a WebAuthn challenge for `purpose` (user null: usernameless sign-in). */
  async issueWebauthn(
    purpose: Exclude<MfaChallengePurpose, 'login'>,
    userId: string | null,
    webauthnChallenge: string,
    tx?: Transaction,
  ): Promise<void> {
    const now = this.clock.now();
    await this.repository.insert(
      {
        id: randomUUID(),
        userId,
        purpose,
        tokenHash: null,
        webauthnChallenge,
        amr: [],
        now,
        expiresAt: new Date(now.getTime() + this.config.mfa.tokenTtlSeconds * 1000),
      },
      tx,
    );
  }

  /** Attaches a WebAuthn challenge to a live login challenge (a passkey as second factor). */
  attachWebauthn(id: string, webauthnChallenge: string): Promise<boolean> {
    return this.repository.setWebauthnChallenge(id, webauthnChallenge, this.clock.now());
  }

  /** Spends the live challenge that issued `webauthnChallenge` for `purpose`; it, or null. */
  spendWebauthn(
    purpose: MfaChallengePurpose,
    webauthnChallenge: string,
    tx?: Transaction,
  ): Promise<MfaChallengeRow | null> {
    return this.repository.spendWebauthn(purpose, webauthnChallenge, this.clock.now(), tx);
  }
}

function hashOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
