import { DomainError } from '../common/errors/domain-error';
import commonPasswordList from './common-passwords.json';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// The most common passwords of at least 8 characters from the zxcvbn-ts frequency list (MIT),
// stored NFKC-normalised and lower-cased.
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(commonPasswordList);

/** NIST SP 800-63B: compare and hash passwords in one Unicode form. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Length in Unicode code points, as a person would count characters. */
export function passwordLength(password: string): number {
  let count = 0;
  for (const _ of password) count++;
  return count;
}

/**
 * Whether a typed password can be a stored one: the length rule applies to the normalised form,
 * the form that is hashed, on every path (a password that shrinks under NFKC logs in).
 */
export function withinMaximumLength(password: string): boolean {
  return passwordLength(normalizePassword(password)) <= PASSWORD_MAX_LENGTH;
}

/**
 * Why a new password is refused (empty when it is acceptable). No composition rules: only
 * length, the common-password list and equality with the account's own names.
 */
export function passwordPolicyViolations(
  password: string,
  account: { username?: string; email?: string },
): string[] {
  const normalized = normalizePassword(password);
  const length = passwordLength(normalized);
  if (length < PASSWORD_MIN_LENGTH) {
    return [`must be at least ${PASSWORD_MIN_LENGTH} characters long`];
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return [`must be at most ${PASSWORD_MAX_LENGTH} characters long`];
  }
  const folded = normalized.toLowerCase();
  const violations: string[] = [];
  if (COMMON_PASSWORDS.has(folded)) {
    violations.push('is too common; choose a less predictable password');
  }
  for (const name of [account.username, account.email]) {
    if (name !== undefined && name !== '' && folded === name.normalize('NFKC').toLowerCase()) {
      violations.push('must not be the same as the username or email');
      break;
    }
  }
  return violations;
}

/**
 * Throws 400 `weak_password` with one field error per violation, naming `field` (the body field
 * the password came in), when the policy refuses the password.
 */
export function assertPasswordAccepted(
  password: string,
  account: { username?: string; email?: string },
  field: 'password' | 'newPassword',
): void {
  const violations = passwordPolicyViolations(password, account);
  if (violations.length === 0) return;
  throw new DomainError(
    'weak_password',
    `The ${field === 'newPassword' ? 'new password' : 'password'} does not meet the password policy`,
    violations.map((message) => ({ field, message: `${field} ${message}` })),
  );
}

export function commonPasswordCount(): number {
  return COMMON_PASSWORDS.size;
}
