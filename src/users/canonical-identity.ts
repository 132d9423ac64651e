/**
 * Canonical forms of the names people log in with. Uniqueness is enforced on these forms, so
 * `Alice`, `alice` and `ａｌｉｃｅ` (fullwidth) are one account name.
 */
export const USERNAME_PATTERN = /^[a-z0-9._-]{3,32}$/;
export const EMAIL_MAX_LENGTH = 254;

// Format (zero-width joiners, bidi marks), control and separator characters are never part of an
// account name; they are rejected rather than stripped so two visually equal names can't differ.
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]/u;

export function canonicalUsername(raw: string): string {
  return raw.normalize('NFKC').toLowerCase();
}

export function canonicalEmail(raw: string): string {
  return raw.trim().normalize('NFKC').toLowerCase();
}

export function hasInvisibleCharacters(value: string): boolean {
  return INVISIBLE.test(value);
}

/** Canonical form of whatever was typed in a login form: an email if it has an `@`. */
export function canonicalLoginName(raw: string): { kind: 'email' | 'username'; value: string } {
  return raw.includes('@')
    ? { kind: 'email', value: canonicalEmail(raw) }
    : { kind: 'username', value: canonicalUsername(raw.trim()) };
}
