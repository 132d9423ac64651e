// C0 controls (CR, LF, TAB, NUL...), DEL, C1 controls, and the Unicode line and paragraph
// separators: anything that can break a log line, a CSV export or a terminal when shown.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/gu;
const LONE_SURROGATE = /\p{Surrogate}/gu;

/** The most characters kept of one string in an event's `details`. */
export const DETAIL_TEXT_MAX = 256;

/**
 * The one canonical form of a client-supplied string before it is stored: every control
 * character replaced by U+FFFD (visible, so an injected CR/LF still shows that something was
 * there), lone surrogates likewise, then cut to `maxLength` code points. Empty is null.
 */
export function clientText(value: string | null | undefined, maxLength: number): string | null {
  if (value === null || value === undefined || value === '') return null;
  // Cut a generous prefix first, so a megabyte header costs no more than a short one.
  const head = value.length > maxLength * 2 ? value.slice(0, maxLength * 2) : value;
  const clean = head.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, '\uFFFD');
  const codePoints = Array.from(clean);
  return codePoints.length > maxLength ? codePoints.slice(0, maxLength).join('') : clean;
}

/**
 * `details` with every string (at any depth, object keys included) in the form of
 * {@link clientText}, bounded to {@link DETAIL_TEXT_MAX}: login names and other values a client
 * typed end up here.
 */
export function cleanDetails(value: unknown): unknown {
  if (typeof value === 'string') return clientText(value, DETAIL_TEXT_MAX) ?? '';
  if (Array.isArray(value)) return value.map(cleanDetails);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, member]) => [
      clientText(key, DETAIL_TEXT_MAX) ?? '',
      cleanDetails(member),
    ]),
  );
}
