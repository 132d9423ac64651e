import { Injectable, OnModuleInit } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { isBcryptHash, verifyBcrypt } from './legacy-bcrypt';
import { normalizePassword } from './password-policy';

/**
 * argon2id hashing with the configured cost; the only place that touches password hashes.
 * Accounts imported from the FastAPI tutorials keep their bcrypt hash until their first login,
 * which verifies it (legacy-bcrypt.ts) and replaces it with argon2id (`needsRehash`).
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly options: argon2.HashOptions & { raw?: false };
  private dummyHash = '';

  constructor(config: AppConfig) {
    this.options = {
      type: argon2.argon2id,
      raw: false,
      memoryCost: config.argon2.memoryKib,
      timeCost: config.argon2.timeCost,
      parallelism: config.argon2.parallelism,
    };
  }

  async onModuleInit(): Promise<void> {
    // A hash of a random password with the live parameters: verifying against it costs what a
    // real verification costs, so an unknown account name is not faster to reject.
    this.dummyHash = await this.hash(randomBytes(32).toString('base64url'));
  }

  hash(password: string): Promise<string> {
    return argon2.hash(normalizePassword(password), this.options);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      if (hash.startsWith('$2')) return isBcryptHash(hash) && (await verifyBcrypt(hash, password));
      return await argon2.verify(hash, normalizePassword(password));
    } catch {
      // A malformed stored hash is a failed verification, never a 500 that tells them apart.
      return false;
    }
  }

  /** Spends the time of one verification and always fails. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(this.dummyHash, password);
    return false;
  }

  /** True for an argon2 hash made with other parameters, and for any other kind (bcrypt). */
  needsRehash(hash: string): boolean {
    if (!hash.startsWith('$argon2id$')) return true;
    try {
      return argon2.needsRehash(hash, this.options);
    } catch {
      return true;
    }
  }
}
