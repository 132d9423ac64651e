import { DomainError } from '../common/errors/domain-error';

export const INVALID_ACCOUNT_TOKEN_MESSAGE = 'The link is invalid, expired or already used';

/** One answer for a token that is unknown, used, expired, or no longer fits its account. */
export function invalidAccountToken(): DomainError {
  return new DomainError('invalid_account_token', INVALID_ACCOUNT_TOKEN_MESSAGE);
}
