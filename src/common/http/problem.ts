import { STATUS_CODES } from 'node:http';
import type { FieldError } from '../errors/domain-error';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
}

export function problem(
  status: number,
  fields: { detail?: string; title?: string; type?: string; errors?: FieldError[] } = {},
): Problem {
  return {
    type: fields.type ?? 'about:blank',
    title: fields.title ?? STATUS_CODES[status] ?? 'Error',
    status,
    ...(fields.detail !== undefined ? { detail: fields.detail } : {}),
    ...(fields.errors !== undefined ? { errors: fields.errors } : {}),
  };
}

/**
 * The path of the request without its query string (which may carry secrets), with every
 * character a URI may not hold percent-encoded, so a path such as `/<script>` comes back inert.
 */
export function instanceOf(url: string): string {
  const index = url.indexOf('?');
  const path = index === -1 ? url : url.slice(0, index);
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (character) =>
    Array.from(
      Buffer.from(character, 'utf8'),
      (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    ).join(''),
  );
}

/**
 * JSON with `<`, `>`, `&` and the JavaScript line separators written as `\u` escapes: the same
 * value for any JSON parser, but text from the request (a field name in `errors[]`) can never
 * read as markup, whatever a client does with the body.
 */
export function safeJsonStringify(body: object): string {
  return JSON.stringify(body).replace(
    /[<>&\u2028\u2029]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
