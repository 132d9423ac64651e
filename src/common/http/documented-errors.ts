import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  ExampleObject,
  HeaderObject,
  MediaTypeObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { STATUS_CODES } from 'node:http';
import { RETRY_AFTER_SECONDS } from '../errors/infrastructure-failure';
import { MAX_URL_LENGTH } from './early-errors';
import { type Problem, problem, PROBLEM_CONTENT_TYPE } from './problem';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
type Method = (typeof METHODS)[number];

// Fastify reads a body on these methods before any route code runs, whatever the handler takes.
const BODY_METHODS = new Set<Method>(['post', 'put', 'patch', 'delete']);

const PROBLEM_SCHEMA: ReferenceObject = { $ref: '#/components/schemas/ProblemDto' };
const JSON_MEDIA_TYPE = 'application/json';

/** The id the examples put in a path: what a client would really send. */
export const EXAMPLE_ID = '0b6e5d1c-6a34-4a44-9b7e-3c1f2f5e8a11';

/** Why a status can be answered on an operation, as its description when the route has none. */
const REASONS: Record<number, string> = {
  400: 'Malformed request: a body that is not valid JSON (or nested too deeply), or a path parameter that is not a valid id',
  413: 'The request body is larger than BODY_LIMIT_BYTES',
  414: `The URL is longer than ${MAX_URL_LENGTH} characters, or a path parameter longer than 100`,
  415: 'The request body has another media type than the operation takes',
  431: 'The request headers are too large (16 KB with the request line)',
  500: 'Unexpected error (logged; the answer says nothing more)',
  503: 'The database (or another dependency the answer needs) is unavailable; retry after Retry-After seconds',
};

const HEADERS: Record<number, Record<string, HeaderObject>> = {
  429: {
    'Retry-After': {
      description: 'Seconds until a new attempt may succeed',
      schema: { type: 'integer', minimum: 1 },
      example: 42,
    },
  },
  503: {
    'Retry-After': {
      description: 'Seconds after which to try again',
      schema: { type: 'integer', minimum: 1 },
      example: RETRY_AFTER_SECONDS,
    },
  },
};

const WWW_AUTHENTICATE: Record<string, HeaderObject> = {
  'WWW-Authenticate': {
    description:
      'RFC 6750: `Bearer realm="api"`, with `error="invalid_token"` when a token was sent',
    schema: { type: 'string' },
    example:
      'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or expired"',
  },
};

/** A problem the service answers, as `problem()` builds it (the instance is added per path). */
const domain = (status: number, code: string, title: string, detail: string): Problem =>
  problem(status, { type: `urn:problem:identity:${code}`, title, detail });
const generic = (status: number, detail: string): Problem => problem(status, { detail });
const invalid = (errors: Array<{ field: string; message: string }>): Problem =>
  problem(400, {
    type: 'urn:problem:identity:validation-failed',
    title: 'Validation failed',
    detail: 'The request is invalid',
    errors,
  });

interface NamedExample {
  summary: string;
  value: Record<string, unknown>;
  /** Whether the answer says where it came from (not the 431 Node writes before routing). */
  instance?: false;
}
const named = (summary: string, value: object, instance?: false): NamedExample => ({
  summary,
  value: value as Record<string, unknown>,
  ...(instance === false ? { instance } : {}),
});

/**
 * Every error body the document shows, by name: the exact type, title and detail the service
 * answers (the e2e tests compare what the service really answers with these).
 */
const EXAMPLES = {
  invalidJson: named(
    'The body is not valid JSON',
    generic(400, 'The request body is not valid JSON'),
  ),
  malformedId: named(
    'A path parameter is not a UUID',
    generic(400, 'The request could not be understood'),
  ),
  weakPassword: named('The password policy refuses the password', {
    ...domain(
      400,
      'weak-password',
      'Password rejected',
      'The password does not meet the password policy',
    ),
    errors: [{ field: 'password', message: 'password is too common' }],
  }),
  weakNewPassword: named('The password policy refuses the new password', {
    ...domain(
      400,
      'weak-password',
      'Password rejected',
      'The new password does not meet the password policy',
    ),
    errors: [{ field: 'newPassword', message: 'newPassword is too common' }],
  }),
  invalidRegistration: named(
    'A field is invalid or unknown',
    invalid([
      { field: 'email', message: 'email must be an email' },
      { field: 'role', message: 'property role should not exist' },
    ]),
  ),
  invalidLogin: named(
    'A field is missing or too long',
    invalid([{ field: 'username', message: 'username must be a string' }]),
  ),
  invalidProfile: named(
    'A field is invalid or unknown',
    invalid([
      { field: 'username', message: 'username must be 3 to 32 of a-z, 0-9, ".", "_", "-"' },
    ]),
  ),
  invalidAdminUpdate: named(
    'A field is invalid or unknown',
    invalid([{ field: 'isActive', message: 'isActive must be a boolean value' }]),
  ),
  invalidPasswordChange: named(
    'A field is missing',
    invalid([{ field: 'currentPassword', message: 'currentPassword must be a string' }]),
  ),
  invalidAccountTokenFormat: named(
    'The token is not the 43-character code of a mail',
    invalid([{ field: 'token', message: 'token must be the 43-character code from the mail' }]),
  ),
  invalidForgotPassword: named(
    'The email is missing or malformed',
    invalid([{ field: 'email', message: 'email must be a valid email address' }]),
  ),
  invalidEmailChange: named(
    'A field is missing or invalid',
    invalid([{ field: 'newEmail', message: 'newEmail must be a valid email address' }]),
  ),
  invalidAccountToken: named(
    'The token is unknown, used, expired, replaced by a newer one, or no longer fits the account',
    domain(
      400,
      'invalid-account-token',
      'Invalid or expired link',
      'The link is invalid, expired or already used',
    ),
  ),
  emailNotVerified: named(
    'EMAIL_VERIFICATION=required and the account has not verified its email address yet',
    domain(
      403,
      'email-not-verified',
      'Email address not verified',
      'Verify your email address first: follow the link mailed to it',
    ),
  ),
  emailAlreadyVerified: named(
    'The address is verified already',
    domain(
      409,
      'email-already-verified',
      'Email address already verified',
      'The email address is already verified',
    ),
  ),
  accountDeactivated: named(
    'The account is deactivated: a reset link could not be used',
    domain(409, 'conflict', 'Conflict', 'The account is deactivated; activate it first'),
  ),
  emailAlreadyOwn: named(
    'The address is already this account’s',
    domain(409, 'conflict', 'Conflict', 'That is already the email of this account'),
  ),
  emailVerificationDisabled: named(
    'EMAIL_VERIFICATION=off',
    domain(
      404,
      'feature-disabled',
      'Not available',
      'Email verification is not enabled on this service',
    ),
  ),
  mailFlowsOff: named(
    'Every mail flow is off (EMAIL_VERIFICATION=off, PASSWORD_RESET_ENABLED=false)',
    domain(
      404,
      'feature-disabled',
      'Not available',
      'Email changes by confirmation need a mail flow; use PATCH /users/me',
    ),
  ),
  emailChangeNeedsConfirmation: named(
    'A new email while a mail flow is on: POST /users/me/email mails the new address',
    domain(
      400,
      'email-change-needs-confirmation',
      'Email change needs confirmation',
      'Change the email with POST /users/me/email: the new address must confirm it',
    ),
  ),
  passwordResetDisabled: named(
    'PASSWORD_RESET_ENABLED=false',
    domain(
      404,
      'feature-disabled',
      'Not available',
      'Password reset is not enabled on this service',
    ),
  ),
  invalidUserQuery: named(
    'A query parameter is invalid',
    invalid([{ field: 'limit', message: 'limit must not be greater than 100' }]),
  ),
  invalidAuditQuery: named(
    'A query parameter is invalid',
    invalid([{ field: 'from', message: 'from must be an ISO 8601 date-time with Z or an offset' }]),
  ),
  missingToken: named(
    'No access token was sent',
    domain(401, 'missing-token', 'Authentication required', 'An access token is required'),
  ),
  invalidToken: named(
    'The access token is invalid, expired or revoked, or the account is no longer active',
    domain(401, 'invalid-token', 'Invalid token', 'The access token is invalid or expired'),
  ),
  invalidCredentials: named(
    'Wrong, unknown or locked: one answer for every cause',
    domain(401, 'invalid-credentials', 'Invalid credentials', 'Invalid username or password'),
  ),
  userNotFound: named(
    'No user has this id',
    domain(404, 'user-not-found', 'User not found', 'No such user'),
  ),
  roleNotFound: named(
    'No role has this name',
    domain(404, 'role-not-found', 'Role not found', 'No such role'),
  ),
  sessionNotFound: named(
    'None of your live sessions has this id',
    domain(404, 'session-not-found', 'Session not found', 'No such session'),
  ),
  // Second factors (src/mfa).
  invalidReauthentication: named(
    'An unknown field, or currentPassword is not a string of 1 to 128 characters',
    invalid([
      {
        field: 'currentPassword',
        message: 'currentPassword must be a string of 1 to 128 characters',
      },
    ]),
  ),
  invalidMfaConfirm: named(
    'The code is missing or not a string',
    invalid([{ field: 'code', message: 'code must be a string' }]),
  ),
  reauthenticationRequired: named(
    'Neither currentPassword nor a second factor proven in this session within MFA_STEP_UP_MAX_AGE',
    domain(
      401,
      'reauthentication-required',
      'Re-authentication required',
      'Confirm it is you: send currentPassword, or prove a second factor first (POST /auth/mfa/step-up)',
    ),
  ),
  invalidTotpConfirmCode: named(
    'The code is not the one the authenticator shows now (or was used already)',
    domain(
      401,
      'invalid-mfa-code',
      'Invalid second-factor code',
      'The code is wrong or expired; try the next one',
    ),
  ),
  mfaAlreadyEnrolled: named(
    'TOTP is active already',
    domain(
      409,
      'mfa-already-enrolled',
      'Second factor already enrolled',
      'TOTP is already enabled; remove it before enrolling a new authenticator',
    ),
  ),
  totpNotStarted: named(
    'No TOTP enrolment was started',
    domain(404, 'mfa-not-enrolled', 'Second factor not enrolled', 'Start TOTP enrolment first'),
  ),
  totpNotEnrolled: named(
    'No authenticator is enrolled, active or pending',
    domain(404, 'mfa-not-enrolled', 'Second factor not enrolled', 'TOTP is not enrolled'),
  ),
  noSecondFactor: named(
    'The account has no second factor',
    domain(
      404,
      'mfa-not-enrolled',
      'Second factor not enrolled',
      'Recovery codes need a second factor: enrol one first',
    ),
  ),
  mfaDisabled: named(
    'MFA_ENABLED=false',
    domain(
      404,
      'feature-disabled',
      'Not available',
      'Second factors are not enabled on this service',
    ),
  ),
  notFound: named('Nothing is there', generic(404, 'The requested resource does not exist')),
  usernameTaken: named(
    'The username is taken (case-insensitively)',
    domain(409, 'username-taken', 'Username already taken', 'This username is already taken'),
  ),
  emailTaken: named(
    'The email is registered (case-insensitively)',
    domain(
      409,
      'email-taken',
      'Email already registered',
      'An account with this email already exists',
    ),
  ),
  lastAdmin: named(
    'The change would leave no active administrator',
    domain(
      409,
      'last-admin',
      'Last active administrator',
      'The last active administrator cannot be demoted, deactivated or deleted',
    ),
  ),
  conflict: named(
    'A concurrent change took the name first',
    generic(409, 'The resource conflicts with an existing one'),
  ),
  payloadTooLarge: named(
    'The body is over the limit',
    generic(413, 'The request body is too large'),
  ),
  uriTooLong: named('The URL is too long', generic(414, 'The request URL is too long')),
  unsupportedMediaType: named(
    'The body is not of a media type the operation takes',
    generic(415, 'The request body has an unsupported media type'),
  ),
  rateLimited: named(
    'Too many attempts from this address or for this account',
    domain(429, 'rate-limited', 'Too many requests', 'Too many attempts; try again later'),
  ),
  headersTooLarge: named(
    'The request headers are too large',
    generic(431, 'The request headers are too large'),
    false,
  ),
  unexpected: named('An unexpected error', generic(500, 'An unexpected error occurred')),
  unavailable: named(
    'The database or Redis does not answer',
    domain(
      503,
      'service-unavailable',
      'Service unavailable',
      'The service is temporarily unavailable; retry later',
    ),
  ),
  notReady: named('The database is down', {
    ...domain(503, 'service-unavailable', 'Service unavailable', 'Not ready: database'),
    checks: { database: 'down', authState: 'listening', redis: 'not_configured' },
  }),
  invalidMfaToken: named(
    'The mfa_token is unknown, expired, used, or dead after too many wrong codes',
    domain(
      401,
      'invalid-mfa-token',
      'Invalid or expired MFA token',
      'The MFA token is invalid, expired or already used',
    ),
  ),
  invalidMfaCode: named(
    'The code is wrong or was already used',
    domain(
      401,
      'invalid-mfa-code',
      'Invalid second-factor code',
      'The code is wrong or was already used',
    ),
  ),
  lockedAtMfa: named(
    'The account is locked: the answer a login gets',
    domain(401, 'invalid-credentials', 'Invalid credentials', 'Invalid username or password'),
  ),
  invalidMfaAnswer: named(
    'Not exactly one of code, recovery_code, passkey',
    invalid([{ field: 'code', message: 'send exactly one of code, recovery_code, passkey' }]),
  ),
  // Passkeys (src/mfa/passkeys).
  passkeyNotFound: named(
    'None of your passkeys has this id (another user’s is not found either)',
    domain(404, 'passkey-not-found', 'Passkey not found', 'No such passkey'),
  ),
  passkeyRejected: named(
    'The registration response does not verify',
    domain(
      400,
      'passkey-rejected',
      'Passkey response rejected',
      'The passkey response could not be verified: start again with new options',
    ),
  ),
  passkeyTaken: named(
    'The passkey is registered already',
    domain(409, 'conflict', 'Conflict', 'This passkey is already registered'),
  ),
  passkeyNotEnrolled: named(
    'The account has no passkey',
    domain(404, 'mfa-not-enrolled', 'Second factor not enrolled', 'The account has no passkey'),
  ),
  wrongCurrentPassword: named(
    'The current password is wrong (counts as a failed login)',
    domain(401, 'invalid-credentials', 'Invalid credentials', 'The current password is incorrect'),
  ),
  invalidPasskeyBody: named(
    'The credential response is missing or not an object',
    invalid([{ field: 'response', message: 'response must be an object' }]),
  ),
  invalidPasskeyName: named(
    'The name is missing, empty or longer than 64 characters',
    invalid([{ field: 'name', message: 'name must be longer than or equal to 1 characters' }]),
  ),
  invalidMfaTokenFormat: named(
    'The mfa_token is missing or malformed',
    invalid([{ field: 'mfa_token', message: 'mfa_token must be the token /auth/login gave' }]),
  ),
  mfaStepUpRequired: named(
    'No second factor proven recently enough in this session (RFC 9470)',
    domain(
      401,
      'mfa-step-up-required',
      'A recent second factor is required',
      'Prove a second factor first: POST /auth/mfa/step-up, then retry with the new token',
    ),
  ),
  mfaEnrolmentRequired: named(
    'MFA_REQUIRED_FOR_ROLES names a role of the user, and this session proved no second factor',
    domain(
      403,
      'mfa-enrolment-required',
      'Second-factor enrolment required',
      'Enrol a second factor first (POST /users/me/mfa/totp), then step up (POST /auth/mfa/step-up) or log in again',
    ),
  ),
  // OpenID Connect clients (src/oidc/clients).
  invalidOidcClient: named(
    'A field is invalid or unknown, or the client breaks a rule',
    invalid([
      {
        field: 'redirect_uris.0',
        message: 'redirect_uris.0 must use https (http only for localhost, 127.0.0.1 or [::1])',
      },
    ]),
  ),
  oidcClientNotFound: named(
    'No client has this client_id',
    domain(404, 'oidc-client-not-found', 'Client not found', 'No such client'),
  ),
  oidcClientIsPublic: named(
    'The client is public (token_endpoint_auth_method none)',
    domain(
      409,
      'conflict',
      'Conflict',
      'A public client (token_endpoint_auth_method none) has no secret to rotate',
    ),
  ),
  // RFC 6749 §5.2 bodies of the token and refresh endpoints (application/json).
  oauthMfaRequired: named('The password is right; the user has a second factor', {
    error: 'mfa_required',
    error_description:
      'Multi-factor authentication required: POST the mfa_token and a code to /auth/mfa/verify',
    mfa_token: 'q1yS3m1yOZ3Kx8n8rC1n3o7bY0H5bqGmR0c2v6tW9sE',
    methods: ['totp', 'recovery_code'],
    expires_in: 300,
  }),
  oauthInvalidRequest: named('A parameter is missing or malformed', {
    error: 'invalid_request',
    error_description: 'refresh_token is required',
  }),
  oauthUnsupportedGrant: named('A grant type the endpoint does not support', {
    error: 'unsupported_grant_type',
    error_description: 'Supported grant types: password, refresh_token',
  }),
  oauthBadPassword: named('Wrong, unknown or locked account', {
    error: 'invalid_grant',
    error_description: 'Invalid username or password',
  }),
  oauthBadRefresh: named('The refresh token is invalid, expired, reused or revoked', {
    error: 'invalid_grant',
    error_description: 'The refresh token is invalid, expired or revoked',
  }),
  oauthCrossSiteRefused: named(
    'REFRESH_COOKIE_SAMESITE=none: a cookie refresh without an allowed Origin or X-CSRF-Protection',
    {
      error: 'invalid_request',
      error_description:
        'A refresh with the cookie must come from an allowed origin with the X-CSRF-Protection header',
    },
  ),
} satisfies Record<string, NamedExample>;

type ExampleName = keyof typeof EXAMPLES;

/**
 * The errors an operation's own code answers, by operationId and status (the statuses every
 * operation of its kind can answer are added by {@link structuralExamples}).
 */
const OPERATION_EXAMPLES: Record<string, Record<number, ExampleName[]>> = {
  register: {
    400: ['invalidRegistration', 'weakPassword'],
    409: ['usernameTaken', 'emailTaken', 'conflict'],
  },
  login: { 400: ['invalidLogin'], 401: ['invalidCredentials'] },
  requestOAuth2Token: {
    400: ['oauthInvalidRequest', 'oauthUnsupportedGrant'],
    401: ['oauthBadPassword', 'oauthBadRefresh'],
    403: ['oauthMfaRequired'],
  },
  verifyMfa: {
    400: ['invalidMfaAnswer'],
    401: ['invalidMfaToken', 'invalidMfaCode', 'lockedAtMfa'],
    404: ['mfaDisabled'],
  },
  stepUpMfa: { 400: ['invalidMfaAnswer'], 401: ['invalidMfaCode'], 404: ['mfaDisabled'] },
  refreshTokens: {
    400: ['oauthInvalidRequest'],
    401: ['oauthBadRefresh'],
    403: ['oauthCrossSiteRefused'],
  },
  verifyEmail: {
    400: ['invalidAccountTokenFormat', 'invalidAccountToken'],
    404: ['emailVerificationDisabled'],
  },
  resendEmailVerification: { 404: ['emailVerificationDisabled'], 409: ['emailAlreadyVerified'] },
  forgotPassword: { 400: ['invalidForgotPassword'], 404: ['passwordResetDisabled'] },
  resetPassword: {
    400: ['invalidAccountTokenFormat', 'invalidAccountToken', 'weakNewPassword'],
    404: ['passwordResetDisabled'],
  },
  changePassword: {
    400: ['invalidPasswordChange', 'weakNewPassword'],
    401: ['invalidCredentials'],
  },
  updateCurrentUser: {
    400: ['invalidProfile', 'emailChangeNeedsConfirmation'],
    409: ['usernameTaken', 'emailTaken', 'conflict'],
  },
  requestEmailChange: {
    400: ['invalidEmailChange'],
    401: ['invalidCredentials'],
    404: ['mailFlowsOff'],
    409: ['emailTaken', 'emailAlreadyOwn'],
  },
  confirmEmailChange: {
    400: ['invalidAccountTokenFormat', 'invalidAccountToken'],
    404: ['mailFlowsOff'],
    409: ['emailTaken'],
  },
  listUsers: { 400: ['invalidUserQuery'] },
  getUser: { 404: ['userNotFound'] },
  updateUser: {
    400: ['invalidAdminUpdate'],
    404: ['userNotFound'],
    409: ['usernameTaken', 'emailTaken', 'lastAdmin'],
  },
  deleteUser: { 404: ['userNotFound'], 409: ['lastAdmin'] },
  sendPasswordReset: {
    404: ['userNotFound', 'passwordResetDisabled'],
    409: ['accountDeactivated'],
  },
  unlockUser: { 404: ['userNotFound'] },
  grantRole: { 404: ['userNotFound', 'roleNotFound'] },
  revokeRole: { 404: ['userNotFound', 'roleNotFound'], 409: ['lastAdmin'] },
  listAuditEvents: { 400: ['invalidAuditQuery'] },
  revokeSession: { 404: ['sessionNotFound'] },
  getMySecondFactors: { 404: ['mfaDisabled'] },
  startTotpEnrolment: {
    400: ['invalidReauthentication'],
    401: ['reauthenticationRequired', 'invalidCredentials'],
    404: ['mfaDisabled'],
    409: ['mfaAlreadyEnrolled'],
  },
  confirmTotpEnrolment: {
    400: ['invalidMfaConfirm'],
    401: ['invalidTotpConfirmCode'],
    404: ['totpNotStarted', 'mfaDisabled'],
    409: ['mfaAlreadyEnrolled'],
  },
  removeTotp: {
    400: ['invalidReauthentication'],
    401: ['reauthenticationRequired', 'invalidCredentials'],
    404: ['totpNotEnrolled', 'mfaDisabled'],
  },
  regenerateRecoveryCodes: {
    400: ['invalidReauthentication'],
    401: ['reauthenticationRequired', 'invalidCredentials'],
    404: ['noSecondFactor', 'mfaDisabled'],
  },
  getUserSecondFactors: { 404: ['userNotFound', 'mfaDisabled'] },
  resetUserSecondFactors: { 404: ['userNotFound', 'mfaDisabled'] },
  getReadiness: { 503: ['notReady'] },
  passkeyRegistrationOptions: {
    400: ['invalidReauthentication'],
    401: ['wrongCurrentPassword', 'reauthenticationRequired'],
    404: ['mfaDisabled'],
  },
  registerPasskey: {
    400: ['invalidPasskeyBody', 'invalidPasskeyName', 'passkeyRejected'],
    404: ['mfaDisabled'],
    409: ['passkeyTaken'],
  },
  listPasskeys: { 404: ['mfaDisabled'] },
  renamePasskey: { 400: ['invalidPasskeyName'], 404: ['passkeyNotFound', 'mfaDisabled'] },
  deletePasskey: {
    400: ['invalidReauthentication'],
    401: ['wrongCurrentPassword', 'reauthenticationRequired'],
    404: ['passkeyNotFound', 'mfaDisabled'],
  },
  passkeySignInOptions: { 404: ['mfaDisabled'] },
  loginWithPasskey: {
    400: ['invalidPasskeyBody'],
    401: ['invalidCredentials'],
    404: ['mfaDisabled'],
  },
  passkeySecondFactorOptions: {
    400: ['invalidMfaTokenFormat'],
    401: ['invalidMfaToken'],
    404: ['passkeyNotEnrolled', 'mfaDisabled'],
  },
  passkeyStepUpOptions: { 404: ['passkeyNotEnrolled', 'mfaDisabled'] },
  createOidcClient: { 400: ['invalidOidcClient'] },
  getOidcClient: { 404: ['oidcClientNotFound'] },
  updateOidcClient: { 400: ['invalidOidcClient'], 404: ['oidcClientNotFound'] },
  rotateOidcClientSecret: { 404: ['oidcClientNotFound'], 409: ['oidcClientIsPublic'] },
  deleteOidcClient: { 404: ['oidcClientNotFound'] },
};

const SINGLE_EXAMPLE: Partial<Record<number, ExampleName>> = {
  404: 'notFound',
  409: 'conflict',
  413: 'payloadTooLarge',
  414: 'uriTooLong',
  415: 'unsupportedMediaType',
  429: 'rateLimited',
  431: 'headersTooLarge',
  500: 'unexpected',
  503: 'unavailable',
};

/** The problems a status carries on any operation of this shape (method, path, security). */
function structuralExamples(
  status: number,
  method: Method,
  path: string,
  operation: OperationObject,
  own: ExampleName[],
): ExampleName[] {
  switch (status) {
    case 400:
      return [
        ...(BODY_METHODS.has(method) ? (['invalidJson'] as const) : []),
        ...(path.includes('{') ? (['malformedId'] as const) : []),
      ];
    case 401:
      return (operation.security ?? []).length > 0
        ? [
            'missingToken',
            'invalidToken',
            ...(REQUIRE_MFA_EXTENSION in operation ? (['mfaStepUpRequired'] as const) : []),
          ]
        : [];
    case 403:
      return [];
    case 503:
      return own.length > 0 ? [] : ['unavailable'];
    default: {
      const single = SINGLE_EXAMPLE[status];
      return own.length > 0 || single === undefined ? [] : [single];
    }
  }
}

/**
 * The statuses an operation can answer whatever its controller says, from what the route is:
 * every request can meet a URL, header, server or database limit; a method with a body goes
 * through the body parser (400, 413, 415) before the route runs; a path parameter can be
 * malformed (400) or too long (414).
 */
export function frameworkStatuses(method: string, path: string): number[] {
  const statuses = new Set([414, 431, 500, 503]);
  if (BODY_METHODS.has(method as Method)) [400, 413, 415].forEach((s) => statuses.add(s));
  if (path.includes('{')) statuses.add(400);
  return [...statuses].sort((a, b) => a - b);
}

/**
 * Completes every operation's responses with the statuses the framework and the
 * infrastructure answer ({@link frameworkStatuses}), as `application/problem+json` with the
 * ProblemDto schema and the headers that come with them (`Retry-After` on 429 and 503,
 * `WWW-Authenticate` on a 401 problem). Responses the controllers declared with the ProblemDto
 * schema get the media type the service really answers with, which @nestjs/swagger writes as
 * `application/json`. Every error response then gets named examples of the bodies it carries
 * on that operation ({@link OPERATION_EXAMPLES} and what its shape implies).
 */
export function documentFrameworkErrors(document: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      for (const status of frameworkStatuses(method, path)) {
        const response = (operation.responses[String(status)] ??= {
          description: REASONS[status] ?? STATUS_CODES[status] ?? 'Error',
        }) as ResponseObject;
        const content = (response.content ??= {});
        content[PROBLEM_CONTENT_TYPE] ??= { schema: PROBLEM_SCHEMA };
      }
      documentUnverifiedEmail(operation);
      completeDeclaredResponses(operation);
      addExamples(method, path, operation);
    }
  }
  return document;
}

/** Marks an operation an enrolment-only token may use (`@AllowMfaEnrolment()`, src/access). */
export const ALLOW_MFA_ENROLMENT_EXTENSION = 'x-allow-mfa-enrolment';

/** Marks an operation that demands a recent second factor (`@RequireMfa()`, src/access). */
export const REQUIRE_MFA_EXTENSION = 'x-require-mfa';

/** Marks an operation `@AllowUnverifiedEmail()` (src/access) lets an unverified account use. */
export const ALLOW_UNVERIFIED_EMAIL_EXTENSION = 'x-allow-unverified-email';

const UNVERIFIED_EMAIL_REASON =
  'EMAIL_VERIFICATION=required and the email address is not verified yet';

const MFA_ENROLMENT_REASON =
  'MFA_REQUIRED_FOR_ROLES names a role of the user and the session proved no second factor: ' +
  'enrol one first';

/** Whether an enrolment-only token (MFA_REQUIRED_FOR_ROLES) is refused on the operation. */
function refusesMfaEnrolment(operation: OperationObject): boolean {
  return (
    (operation.security ?? []).length > 0 &&
    (operation as unknown as Record<string, unknown>)[ALLOW_MFA_ENROLMENT_EXTENSION] !== true
  );
}

/** Whether EMAIL_VERIFICATION=required withholds the operation from an unverified account. */
function refusesUnverifiedEmail(operation: OperationObject): boolean {
  return (
    (operation.security ?? []).length > 0 &&
    (operation as unknown as Record<string, unknown>)[ALLOW_UNVERIFIED_EMAIL_EXTENSION] !== true
  );
}

/**
 * The 403 `email_not_verified` every bearer route answers unless `@AllowUnverifiedEmail()`,
 * and `mfa_enrolment_required` unless `@AllowMfaEnrolment()`.
 */
function documentUnverifiedEmail(operation: OperationObject): void {
  const reasons = [
    ...(refusesUnverifiedEmail(operation) ? [UNVERIFIED_EMAIL_REASON] : []),
    ...(refusesMfaEnrolment(operation) ? [MFA_ENROLMENT_REASON] : []),
  ];
  if (reasons.length === 0) return;
  const declared = operation.responses['403'] as ResponseObject | undefined;
  if (declared === undefined) {
    operation.responses['403'] = {
      description: reasons.join('; or '),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_SCHEMA } },
    };
  } else {
    declared.description = [declared.description, ...reasons].join('; or ');
  }
}

function completeDeclaredResponses(operation: OperationObject): void {
  for (const [code, response] of Object.entries(operation.responses)) {
    if (response === undefined || '$ref' in response) continue;
    const status = Number(code);
    const json = response.content?.[JSON_MEDIA_TYPE];
    if (response.content !== undefined && json !== undefined && isProblemSchema(json)) {
      delete response.content[JSON_MEDIA_TYPE];
      response.content[PROBLEM_CONTENT_TYPE] ??= json;
    }
    // Every 401 problem names the scheme; the OAuth2 endpoints' RFC 6749 401s do not.
    const problem401 = status === 401 && response.content?.[PROBLEM_CONTENT_TYPE] !== undefined;
    const headers = { ...(HEADERS[status] ?? {}), ...(problem401 ? WWW_AUTHENTICATE : {}) };
    if (Object.keys(headers).length > 0) response.headers = { ...headers, ...response.headers };
  }
}

function addExamples(method: Method, path: string, operation: OperationObject): void {
  const instance = path.replace(/\{[^}]+\}/g, EXAMPLE_ID);
  for (const [code, response] of Object.entries(operation.responses)) {
    const status = Number(code);
    if (status < 400 || response === undefined || '$ref' in response) continue;
    const own = OPERATION_EXAMPLES[operation.operationId ?? '']?.[status] ?? [];
    const names = [
      ...new Set([...own, ...structuralExamples(status, method, path, operation, own)]),
    ];
    for (const [mediaType, media] of Object.entries(response.content ?? {})) {
      if (media.example !== undefined || media.examples !== undefined) continue;
      const oauth = mediaType === JSON_MEDIA_TYPE;
      const examples: Record<string, ExampleObject> = {};
      for (const name of names) {
        const example: NamedExample = EXAMPLES[name];
        const isOAuth = 'error' in example.value;
        if (isOAuth !== oauth || (!oauth && example.value.status !== status)) continue;
        examples[name] = {
          summary: example.summary,
          value:
            oauth || example.instance === false ? example.value : { ...example.value, instance },
        };
      }
      // A 403 of a bearer route is a missing role (the refresh endpoint's is its own, above),
      // or an email not verified yet.
      if (status === 403 && !oauth && (operation.security ?? []).length > 0) {
        if (requiredRoles(operation).length > 0) {
          examples.insufficientRole = insufficientRole(operation, instance);
        }
        if (refusesUnverifiedEmail(operation)) {
          examples.emailNotVerified = { ...EXAMPLES.emailNotVerified };
          examples.emailNotVerified.value = { ...EXAMPLES.emailNotVerified.value, instance };
        }
        if (refusesMfaEnrolment(operation)) {
          examples.mfaEnrolmentRequired = {
            ...EXAMPLES.mfaEnrolmentRequired,
            value: { ...EXAMPLES.mfaEnrolmentRequired.value, instance },
          };
        }
      }
      if (Object.keys(examples).length > 0) media.examples = examples;
    }
  }
}

function requiredRoles(operation: OperationObject): string[] {
  return (operation as { 'x-required-roles'?: string[] })['x-required-roles'] ?? [];
}

function insufficientRole(operation: OperationObject, instance: string): ExampleObject {
  const roles = requiredRoles(operation);
  return {
    summary: 'The account lacks the role the operation requires',
    value: {
      ...domain(
        403,
        'insufficient-role',
        'Forbidden',
        `This action requires ${roles.join(' or ')}`,
      ),
      instance,
    },
  };
}

function isProblemSchema(media: MediaTypeObject): boolean {
  return (
    media.schema !== undefined &&
    '$ref' in media.schema &&
    media.schema.$ref === PROBLEM_SCHEMA.$ref
  );
}
