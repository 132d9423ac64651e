import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import { JWT_ALGORITHMS, type JwtAlgorithm } from './signing-keys';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalised = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalised)) return true;
  if (['false', '0', 'no', 'off'].includes(normalised)) return false;
  return value;
};

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

export const EMAIL_VERIFICATION_MODES = ['off', 'optional', 'required'] as const;
export type EmailVerificationMode = (typeof EMAIL_VERIFICATION_MODES)[number];

export const REFRESH_COOKIE_SAMESITE_VALUES = ['strict', 'lax', 'none'] as const;
export type RefreshCookieSameSite = (typeof REFRESH_COOKIE_SAMESITE_VALUES)[number];

/**
 * Every environment variable the service reads, with its default. The names are a contract
 * operators script against (SPEC §2); `.env.example` lists the same set.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @MinLength(1)
  HOST = '0.0.0.0';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @IsString()
  @MinLength(1)
  SQLITE_PATH = 'data/app.sqlite';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_SECRET?: string;

  @IsIn(JWT_ALGORITHMS, {
    message: ({ value }) =>
      value === 'EdDSA'
        ? 'EdDSA is no longer supported (jsonwebtoken, under @nestjs/jwt and passport-jwt, has none); use ES256 with an EC P-256 key (JWT_PRIVATE_KEY)'
        : `must be one of ${JWT_ALGORITHMS.join(', ')}`,
  })
  JWT_ALGORITHM: JwtAlgorithm = 'HS256';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_PRIVATE_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_PRIVATE_KEY_FILE?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_PREVIOUS_PUBLIC_KEYS?: string;

  @IsString()
  @MinLength(1)
  @MaxLength(256)
  JWT_ISSUER = 'identity-service';

  @IsString()
  @MinLength(1)
  @MaxLength(256)
  JWT_AUDIENCE = 'identity-service-api';

  @Transform(toInteger)
  @IsInt()
  @Min(30)
  @Max(86400)
  ACCESS_TOKEN_TTL = 900;

  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  REFRESH_IDLE_TTL = 604800;

  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  REFRESH_ABSOLUTE_TTL = 2592000;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(300)
  REFRESH_REUSE_GRACE_SECONDS = 10;

  /** Seconds an access token's auth state may be answered from memory; 0 turns the cache off. */
  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(3600)
  AUTH_CACHE_TTL = 60;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  AUTH_CACHE_MAX_ENTRIES = 10_000;

  /** PostgreSQL: milliseconds between two heartbeats of the auth-state listener. */
  @Transform(toInteger)
  @IsInt()
  @Min(10)
  @Max(60_000)
  AUTH_STATE_HEARTBEAT_MS = 1000;

  /**
   * PostgreSQL: memory is trusted only while a heartbeat sent less than this many milliseconds
   * ago has come back; the bound on how late another instance may see a revocation.
   */
  @Transform(toInteger)
  @IsInt()
  @Min(20)
  @Max(120_000)
  AUTH_STATE_HEARTBEAT_DEADLINE_MS = 2500;

  @Transform(toBoolean)
  @IsBoolean()
  REFRESH_TOKEN_COOKIE = false;

  /** SameSite of the refresh cookie; `none` (an SPA on another site) adds the CSRF check. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsIn(REFRESH_COOKIE_SAMESITE_VALUES, {
    message: `must be one of ${REFRESH_COOKIE_SAMESITE_VALUES.join(', ')}`,
  })
  REFRESH_COOKIE_SAMESITE: RefreshCookieSameSite = 'strict';

  @Transform(toInteger)
  @IsInt()
  @Min(1024)
  @Max(4_194_304)
  ARGON2_MEMORY_KIB = 19456;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(64)
  ARGON2_TIME_COST = 2;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(64)
  ARGON2_PARALLELISM = 1;

  /** false, true (any proxy), a hop count, or a comma-separated list of proxy IPs/CIDRs. */
  @IsString()
  @Matches(/^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/, {
    message: 'must be true, false, a hop count, or a comma-separated list of IP addresses/CIDRs',
  })
  TRUST_PROXY = 'false';

  @Transform(toBoolean)
  @IsBoolean()
  RATE_LIMIT_ENABLED = true;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100_000)
  RATE_LIMIT_IP_PER_MINUTE = 30;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100_000)
  RATE_LIMIT_ACCOUNT_PER_MINUTE = 10;

  @IsString()
  @Matches(/^[A-Za-z0-9:_-]{1,64}$/, {
    message: 'must be 1 to 64 letters, digits, ":", "_" or "-"',
  })
  RATE_LIMIT_KEY_PREFIX = 'identity:rl';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100)
  LOCKOUT_THRESHOLD = 5;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(86400)
  LOCKOUT_BASE_SECONDS = 60;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(86400)
  LOCKOUT_MAX_SECONDS = 900;

  @IsString()
  CORS_ORIGINS = '';

  @Transform(toInteger)
  @IsInt()
  @Min(1024)
  @Max(10_485_760)
  BODY_LIMIT_BYTES = 102400;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' = 'info';

  /** Unset: on outside production, off in production. */
  @Transform((params) => toBoolean({ value: emptyToUndefined(params) }))
  @IsOptional()
  @IsBoolean()
  SWAGGER_ENABLED?: boolean;

  /**
   * Bearer token of GET /metrics (SPEC §11); empty: no token. With neither it nor METRICS_PORT
   * the metrics are not served. Production wants a strong one (secret-strength.ts).
   */
  @IsString()
  METRICS_TOKEN = '';

  /** Serve /metrics on this port instead of the API's (unset: on the API's, behind the token). */
  @Transform((params) => toInteger({ value: emptyToUndefined(params) }))
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  METRICS_PORT?: number;

  /**
   * Comma-separated names of settings production would refuse that this deployment accepts
   * (each then warned about at every boot); see production-policy.ts.
   */
  @IsString()
  PRODUCTION_ALLOW_INSECURE = '';

  // Audit chain and retention (docs/decisions.md, "Keyed audit chain" and "Retention").
  // Strings with an empty default, so they are known keys without touching the list below.
  /** MAC key of the audit chain (>= 32 bytes); never stored in the database. */
  @IsString()
  AUDIT_KEY = '';

  /** Comma-separated earlier audit keys, still accepted when verifying older events. */
  @IsString()
  AUDIT_PREVIOUS_KEYS = '';

  /** Outside production without AUDIT_KEY: the generated key is kept (mode 0600) in this file. */
  @IsString()
  @MinLength(1)
  AUDIT_KEY_FILE = 'data/audit.key';

  /** Seconds between log lines stating the chain head (an anchor to keep); 0 turns them off. */
  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(86400)
  AUDIT_HEAD_LOG_SECONDS = 300;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(36500)
  AUDIT_RETENTION_DAYS = 365;

  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(36500)
  SESSION_RETENTION_DAYS = 30;

  /**
   * Base of every link in a mail (and, later, the OIDC issuer). Empty: `http://localhost:$PORT`.
   * Production wants it set, https (production-policy.ts).
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message: 'must be an http:// or https:// URL without query or fragment',
  })
  PUBLIC_URL?: string;

  /** Mail transport (SPEC §8): `smtp://` or `smtps://` with credentials; empty: .eml files. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^smtps?:\/\/.+/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  /** The sender of every mail: an address, or `Name <address>`. */
  @IsString()
  @MinLength(3)
  @MaxLength(320)
  MAIL_FROM = 'Identity service <no-reply@localhost>';

  /** Where mails are written as .eml files when SMTP_URL is unset. */
  @IsString()
  @MinLength(1)
  MAIL_DIR = 'data/mail';

  /** The product's name in mails (subjects, greetings, footers). */
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  PRODUCT_NAME = 'Identity service';

  @IsIn(EMAIL_VERIFICATION_MODES)
  EMAIL_VERIFICATION: EmailVerificationMode = 'optional';

  /** POST /auth/password/forgot and /auth/password/reset, and the admin's reset mail. */
  @Transform(toBoolean)
  @IsBoolean()
  PASSWORD_RESET_ENABLED = true;

  /** Lifetimes of the tokens mailed for verification, reset and email change, in seconds. */
  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(604800)
  EMAIL_VERIFICATION_TTL = 86400;

  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(86400)
  PASSWORD_RESET_TTL = 1800;

  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(604800)
  EMAIL_CHANGE_TTL = 3600;

  /** Delivery attempts of one mail before the outbox gives up on it. */
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100)
  MAIL_MAX_ATTEMPTS = 8;

  /** Back-off after a failed attempt n: min(max, base * 2^(n-1)) seconds. */
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(86400)
  MAIL_RETRY_BASE_SECONDS = 30;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(604800)
  MAIL_RETRY_MAX_SECONDS = 3600;

  /** How often each instance looks for mail to deliver (new mail is also sent at once). */
  @Transform(toInteger)
  @IsInt()
  @Min(50)
  @Max(600_000)
  MAIL_POLL_INTERVAL_MS = 5000;

  /** Days a delivered (or given-up) mail's row is kept before pruning. */
  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(36500)
  MAIL_RETENTION_DAYS = 7;

  // Second factors (SPEC §9; src/mfa).
  /** TOTP, recovery codes, passkeys and step-up; false: the routes answer 404, logins ask none. */
  @Transform(toBoolean)
  @IsBoolean()
  MFA_ENABLED = true;

  /**
   * The 32-byte key (64 hex digits, or base64/base64url) that encrypts TOTP secrets at rest.
   * Required in production while MFA_ENABLED; elsewhere one is generated into
   * MFA_ENCRYPTION_KEY_FILE.
   */
  @IsString()
  MFA_ENCRYPTION_KEY = '';

  /** Comma-separated earlier keys, still used to decrypt until `npm run cli -- mfa-rekey`. */
  @IsString()
  MFA_PREVIOUS_ENCRYPTION_KEYS = '';

  /** Outside production without MFA_ENCRYPTION_KEY: the generated key is kept in this file. */
  @IsString()
  @MinLength(1)
  MFA_ENCRYPTION_KEY_FILE = 'data/mfa.key';

  /** Comma-separated roles that must enrol a second factor (e.g. ROLE_ADMIN). */
  @IsString()
  MFA_REQUIRED_FOR_ROLES = '';

  /** Lifetime of the mfa_token a password login of an enrolled user answers with, seconds. */
  @Transform(toInteger)
  @IsInt()
  @Min(30)
  @Max(900)
  MFA_TOKEN_TTL = 300;

  /** Wrong codes one mfa_token takes before it dies (each also counts toward the lockout). */
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(20)
  MFA_TOKEN_MAX_ATTEMPTS = 5;

  /**
   * How recent a second factor must be, in seconds, to stand in for the current password
   * (re-authentication) and for `@RequireMfa()` routes that name no age of their own.
   */
  @Transform(toInteger)
  @IsInt()
  @Min(30)
  @Max(86400)
  MFA_STEP_UP_MAX_AGE = 300;

  /**
   * Every ADMIN-only route demands a second factor proven within MFA_STEP_UP_MAX_AGE, as if
   * marked `@RequireMfa()` (401 `mfa_step_up_required` otherwise; POST /auth/mfa/step-up).
   */
  @Transform(toBoolean)
  @IsBoolean()
  MFA_ADMIN_STEP_UP = false;

  /** WebAuthn relying-party id (a registrable domain); empty: PUBLIC_URL's host name. */
  @IsString()
  WEBAUTHN_RP_ID = '';

  /** Comma-separated origins passkey ceremonies may come from; empty: PUBLIC_URL's origin. */
  @IsString()
  WEBAUTHN_ORIGINS = '';

  /**
   * The OpenID Provider (SPEC §10). Unset: on, except in production without OIDC_COOKIE_KEYS
   * (and, under HS256, an OIDC_SIGNING_KEY), where it stays off until they are set; `true`
   * makes those keys required, `false` turns it off.
   */
  @Transform((field) => toBoolean({ value: emptyToUndefined(field) }))
  @IsOptional()
  @IsBoolean()
  OIDC_ENABLED?: boolean;

  /** The issuer URL (`iss` of ID tokens); empty: PUBLIC_URL. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message: 'must be an http:// or https:// URL without query or fragment',
  })
  OIDC_ISSUER?: string;

  /**
   * Comma-separated keys (32 bytes or more each) the provider signs its cookies with, newest
   * first; older ones still verify. Empty: generated per process outside production.
   */
  @IsString()
  OIDC_COOKIE_KEYS = '';

  /**
   * PEM private key (EC P-256 or RSA >= 2048 bits) for ID tokens while access tokens are HS256
   * (an HMAC secret can't be published). With an asymmetric JWT_ALGORITHM the access-token key
   * signs ID tokens too. Empty: generated per process outside production.
   */
  @IsString()
  OIDC_SIGNING_KEY = '';

  /** The same key as a file path (either this or OIDC_SIGNING_KEY). */
  @IsString()
  OIDC_SIGNING_KEY_FILE = '';

  /** Seconds between pruning passes of each instance; 0: only `npm run cli -- prune`. */
  @Transform(toInteger)
  @IsInt()
  @Min(0)
  @Max(604800)
  RETENTION_INTERVAL_SECONDS = 3600;
}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigurationError';
  }
}

/** Parses and validates raw environment variables; throws naming every bad variable. */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const known = Object.keys(new EnvironmentVariables());
  const relevant: Record<string, unknown> = {};
  for (const key of [
    ...known,
    'DATABASE_URL',
    'REDIS_URL',
    'JWT_SECRET',
    'JWT_PRIVATE_KEY',
    'JWT_PRIVATE_KEY_FILE',
    'JWT_PREVIOUS_PUBLIC_KEYS',
    'SWAGGER_ENABLED',
    'METRICS_PORT',
    'PUBLIC_URL',
    'SMTP_URL',
    'OIDC_ENABLED',
    'OIDC_ISSUER',
  ]) {
    if (raw[key] !== undefined) relevant[key] = raw[key];
  }
  const env = plainToInstance(EnvironmentVariables, relevant, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigurationError(
      errors.map((error) => {
        const reasons = Object.values(error.constraints ?? {}).map((message) =>
          // class-validator starts messages with the property name; keep the name, drop the echo of the value.
          message.startsWith(error.property)
            ? message.slice(error.property.length).trim()
            : message,
        );
        return `${error.property}: ${reasons.join('; ')}`;
      }),
    );
  }
  return env;
}
