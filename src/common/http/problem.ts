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

/** The path of the request without its query string (which may carry secrets). */
export function instanceOf(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}
