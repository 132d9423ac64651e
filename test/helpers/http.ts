import type { Response } from 'supertest';

// Headers that legitimately differ between two answers: per-request or per-connection values.
const VOLATILE_HEADERS = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);

/**
 * A response's headers without the per-request ones, for asserting that two answers (say, a
 * wrong password and an unknown user) cannot be told apart.
 */
export function stableHeaders(response: Response): Record<string, string> {
  return Object.fromEntries(
    Object.entries(response.headers as Record<string, string>).filter(
      ([name]) => !VOLATILE_HEADERS.has(name),
    ),
  );
}
