/** RFC 6749 §5.2 error codes the token endpoint answers with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_client'
  | 'invalid_scope'
  // The password was right, a second factor is missing (as Auth0 answers the password grant).
  | 'mfa_required';

/**
 * An error of the OAuth2 token endpoint. Rendered as `{error, error_description}` (RFC 6749),
 * not as problem+json, because OAuth2 clients (Swagger UI included) parse that shape.
 */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: number = 400,
    /** Further members of the body (`mfa_required`: the mfa_token and methods). */
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}
