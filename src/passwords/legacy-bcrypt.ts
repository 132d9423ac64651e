import bcrypt from 'bcryptjs';

/**
 * bcrypt hashes as the FastAPI tutorials stored them (passlib `$2b$`; `$2a$` and `$2y$` from
 * other bcrypt implementations are the same algorithm): a two-digit cost, then 22 characters
 * of salt and 31 of hash in bcrypt's base64. `$2x$` (crypt_blowfish's buggy variant) is not one.
 */
const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

// passlib's default is 12. Above 14 one verification in pure JS takes seconds of CPU, which
// every login attempt on such an account could make the service spend.
export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 14;

/**
 * Why `hash` is not a bcrypt hash this service verifies, phrased to follow "the hash is";
 * undefined when it is one.
 */
export function bcryptHashProblem(hash: string): string | undefined {
  if (hash.startsWith('$argon2')) {
    return 'an argon2 hash: only bcrypt hashes ($2b$, $2a$, $2y$) are imported';
  }
  const match = BCRYPT_HASH.exec(hash);
  if (match === null) return 'not a bcrypt hash ($2b$, $2a$ or $2y$, 60 characters)';
  const cost = Number(match[1]);
  if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
    return `bcrypt with cost ${cost}, outside ${BCRYPT_MIN_COST} to ${BCRYPT_MAX_COST}`;
  }
  return undefined;
}

export function isBcryptHash(hash: string): boolean {
  return bcryptHashProblem(hash) === undefined;
}

/**
 * Checks a password against an imported bcrypt hash. The password is taken as typed, not
 * NFKC-normalised: passlib hashed the raw UTF-8. The asynchronous compare gives the event
 * loop back between rounds.
 */
export function verifyBcrypt(hash: string, password: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}
