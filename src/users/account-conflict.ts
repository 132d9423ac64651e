import { DomainError } from '../common/errors/domain-error';
import { uniqueViolation } from '../common/errors/unique-violation';

export const usernameTaken = (): DomainError =>
  new DomainError('username_taken', 'This username is already taken');
export const emailTaken = (): DomainError =>
  new DomainError('email_taken', 'An account with this email already exists');

/** Maps a unique-index violation on users to the 409 it means; other errors pass through. */
export function translateAccountConflict(error: unknown): unknown {
  const violated = uniqueViolation(error);
  if (violated === undefined) return error;
  if (violated.includes('username')) return usernameTaken();
  if (violated.includes('email')) return emailTaken();
  return new DomainError('conflict', 'The account conflicts with an existing one');
}
