import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock/clock';
import type { Transaction } from '../../database/database';
import { RecoveryCodesRepository } from './recovery-codes.repository';

/** How many codes a set has (SPEC §9). */
export const RECOVERY_CODE_COUNT = 10;

// Crockford's base32 without the look-alikes: 16 characters carry 80 random bits.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Single-use recovery codes: shown once as `xxxx-xxxx-xxxx-xxxx`, stored as SHA-256 of the
 * normalised code (80 random bits each: a slow hash would add nothing an attacker must beat).
 * Typing is forgiving: case, spaces and dashes do not matter.
 */
@Injectable()
export class RecoveryCodes {
  constructor(
    private readonly repository: RecoveryCodesRepository,
    private readonly clock: Clock,
  ) {}

  /** A new set for the user, replacing any earlier one; the codes in clear, to show once. */
  async regenerate(tx: Transaction, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    await this.repository.replace(
      tx,
      userId,
      codes.map((code) => ({ id: randomUUID(), codeHash: hashOf(code) })),
      this.clock.now(),
    );
    return codes;
  }

  /** Spends `code` if it is one of the user's unused codes. */
  async consume(userId: string, code: string, tx?: Transaction): Promise<boolean> {
    const normalised = normalise(code);
    if (normalised === null) return false;
    return this.repository.consume(userId, hashOf(normalised), this.clock.now(), tx);
  }

  remaining(userId: string, tx?: Transaction): Promise<number> {
    return this.repository.countUnused(userId, tx);
  }

  deleteAll(tx: Transaction, userId: string): Promise<number> {
    return this.repository.deleteAll(tx, userId);
  }
}

function newCode(): string {
  const bytes = randomBytes(16);
  let code = '';
  for (const byte of bytes) code += ALPHABET[byte & 31];
  return code.match(/.{4}/g)!.join('-');
}

/** The 16 characters of a code as stored, or null if it cannot be one. */
function normalise(code: string): string | null {
  const compact = code.toLowerCase().replace(/[\s-]/g, '');
  if (!/^[0-9a-hjkmnp-tv-z]{16}$/.test(compact)) return null;
  return compact.match(/.{4}/g)!.join('-');
}

function hashOf(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}
