import * as path from 'node:path';
import {
  ConfigurationError,
  type EmailVerificationMode,
  EnvironmentVariables,
  type RefreshCookieSameSite,
  validateEnvironment,
} from './environment';
import { mailFlowsOn, productionPolicy } from './production-policy';
import { MIN_SECRET_BYTES, secretProblem } from './secret-strength';
import { loadSigningKeys, SigningKeys } from './signing-keys';
import { oidcSettings, type OidcSettings } from './oidc-settings';
import { RoleName } from '../access/role-name';

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * The typed configuration every provider reads. Built once at boot by {@link loadAppConfig}
 * from the environment; tests build their own with the same function.
 */
export class AppConfig {
  readonly env: EnvironmentVariables['NODE_ENV'];
  readonly isProduction: boolean;
  readonly http: {
    port: number;
    host: string;
    /** Fastify's trustProxy: which X-Forwarded-For hops to believe for the client IP. */
    trustProxy: boolean | string[] | ((address: string, hop: number) => boolean);
    corsOrigins: string[];
    bodyLimitBytes: number;
    swaggerEnabled: boolean;
  };
  readonly database: DatabaseConfig;
  readonly jwt: SigningKeys & {
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
  };
  readonly refresh: {
    idleTtlSeconds: number;
    absoluteTtlSeconds: number;
    reuseGraceSeconds: number;
    /** Refresh token in an HttpOnly cookie instead of the response body. */
    cookie: boolean;
    /**
     * The cookie's SameSite. With `none` a cookie refresh must prove it comes from a page of
     * CORS_ORIGINS (refresh-cookie.ts; docs/decisions.md, "Cross-site refresh cookie").
     */
    cookieSameSite: RefreshCookieSameSite;
  };
  /** Auth state (user, roles, session) kept in memory between requests; see auth-state.cache.ts. */
  readonly authCache: {
    /** 0: every request reads the database. */
    ttlSeconds: number;
    maxEntries: number;
    /** PostgreSQL: heartbeat interval of the listener and the deadline for its return. */
    heartbeatMs: number;
    heartbeatDeadlineMs: number;
  };
  readonly rateLimit: {
    enabled: boolean;
    ipPerMinute: number;
    accountPerMinute: number;
    /** Prefix of the counters' keys in Redis (several services or environments may share one). */
    keyPrefix: string;
  };
  readonly lockout: { threshold: number; baseSeconds: number; maxSeconds: number };
  readonly redisUrl: string | undefined;
  readonly argon2: { memoryKib: number; timeCost: number; parallelism: number };
  readonly logLevel: EnvironmentVariables['LOG_LEVEL'];
  /** Accepted but insecure settings (production's opt-outs), logged at every boot. */
  readonly warnings: readonly string[];

  /** The audit chain's MAC keys and head anchoring (src/audit/audit-key.ts). */
  readonly audit: {
    /** AUDIT_KEY as bytes; undefined: generated (test) or kept in `keyFile` (development). */
    key: Buffer | undefined;
    previousKeys: Buffer[];
    keyFile: string;
    headLogSeconds: number;
  };
  /** Pruning (src/retention): how long dead rows are kept, and how often a pass runs. */
  readonly retention: { sessionDays: number; auditDays: number; intervalSeconds: number };
  /**
   * GET /metrics (src/metrics): on `port` when set (its own listener), else on the API's port
   * when `token` is set; neither: not served.
   */
  readonly metrics: { token: string | undefined; port: number | undefined };
  /** Base of links in mails: PUBLIC_URL without a trailing slash. */
  readonly publicUrl: string;
  /** Mail delivery (src/mail): SMTP when `smtpUrl` is set, else .eml files in `directory`. */
  readonly mail: {
    smtpUrl: string | undefined;
    from: string;
    directory: string;
    productName: string;
    maxAttempts: number;
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    pollIntervalMs: number;
    retentionDays: number;
  };
  /** The flows that mail a token (src/account-lifecycle), and the tokens' lifetimes in seconds. */
  readonly accountLifecycle: {
    emailVerification: EmailVerificationMode;
    passwordReset: boolean;
    /**
     * Some flow mails (verification or reset): then an email changes only when the new address
     * confirms it (POST /users/me/email), and production needs SMTP_URL.
     */
    mailFlows: boolean;
    verificationTtlSeconds: number;
    resetTtlSeconds: number;
    emailChangeTtlSeconds: number;
  };
  /** Second factors (src/mfa). */
  readonly mfa: {
    enabled: boolean;
    /** MFA_ENCRYPTION_KEY (32 bytes); undefined: generated (test) or kept in `keyFile`. */
    encryptionKey: Buffer | undefined;
    previousEncryptionKeys: Buffer[];
    keyFile: string;
    requiredForRoles: RoleName[];
    tokenTtlSeconds: number;
    tokenMaxAttempts: number;
    stepUpMaxAgeSeconds: number;
    /** MFA_ADMIN_STEP_UP: ADMIN-only routes demand a recent second factor. */
    adminStepUp: boolean;
  };
  /** The passkey relying party (@simplewebauthn/server). */
  readonly webauthn: { rpId: string; rpName: string; origins: string[] };
  /** The OpenID Provider (src/oidc); undefined when it is off (OIDC_ENABLED). */
  readonly oidc: OidcSettings | undefined;

  constructor(values: AppConfigValues) {
    Object.assign(this, values);
  }
}

type AppConfigValues = { [K in keyof AppConfig]: AppConfig[K] };

const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i;

export function loadAppConfig(raw: Record<string, unknown>): AppConfig {
  const env = validateEnvironment(raw);
  const isProduction = env.NODE_ENV === 'production';
  const problems: string[] = [];

  const { keys, problems: keyProblems } = loadSigningKeys({
    algorithm: env.JWT_ALGORITHM,
    secret: env.JWT_SECRET,
    privateKey: env.JWT_PRIVATE_KEY,
    privateKeyFile: env.JWT_PRIVATE_KEY_FILE,
    previousPublicKeys: env.JWT_PREVIOUS_PUBLIC_KEYS,
    production: isProduction,
  });
  problems.push(...keyProblems);
  const policy = productionPolicy(env);
  problems.push(...policy.problems);

  const corsOrigins = env.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  if (corsOrigins.some((origin) => !ORIGIN.test(origin))) {
    // '*' or 'null' would hand credentials to any page; only exact origins are accepted.
    problems.push(
      'CORS_ORIGINS: every entry must be an exact origin such as https://app.example.com',
    );
  }
  if (env.LOCKOUT_BASE_SECONDS > env.LOCKOUT_MAX_SECONDS) {
    problems.push('LOCKOUT_BASE_SECONDS: must not exceed LOCKOUT_MAX_SECONDS');
  }
  if (env.REFRESH_COOKIE_SAMESITE === 'none') {
    // The cookie is always Secure (refresh-cookie.ts), as SameSite=None requires; what `none`
    // also needs is the cookie itself, and the origins its CSRF check accepts.
    if (!env.REFRESH_TOKEN_COOKIE) {
      problems.push(
        'REFRESH_COOKIE_SAMESITE: none applies to the refresh cookie; set REFRESH_TOKEN_COOKIE=true',
      );
    }
    if (corsOrigins.length === 0) {
      problems.push(
        'REFRESH_COOKIE_SAMESITE: none needs CORS_ORIGINS to list the origins of the pages that refresh',
      );
    }
  }
  if (env.REFRESH_IDLE_TTL > env.REFRESH_ABSOLUTE_TTL) {
    problems.push('REFRESH_IDLE_TTL: must not exceed REFRESH_ABSOLUTE_TTL');
  }
  if (env.AUTH_STATE_HEARTBEAT_DEADLINE_MS <= env.AUTH_STATE_HEARTBEAT_MS) {
    // Otherwise memory would lapse between two heartbeats on a healthy connection.
    problems.push('AUTH_STATE_HEARTBEAT_DEADLINE_MS: must exceed AUTH_STATE_HEARTBEAT_MS');
  }
  const auditKey = env.AUDIT_KEY === '' ? undefined : Buffer.from(env.AUDIT_KEY, 'utf8');
  const previousAuditKeys = env.AUDIT_PREVIOUS_KEYS.split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => Buffer.from(entry, 'utf8'));
  if (auditKey === undefined && isProduction) {
    problems.push(
      `AUDIT_KEY: required when NODE_ENV=production (at least ${MIN_SECRET_BYTES} bytes)`,
    );
  }
  const auditKeyProblem =
    auditKey === undefined ? undefined : secretProblem('AUDIT_KEY', env.AUDIT_KEY);
  if (auditKeyProblem !== undefined) problems.push(auditKeyProblem);
  const metricsToken = env.METRICS_TOKEN === '' ? undefined : env.METRICS_TOKEN;
  if (metricsToken !== undefined && isProduction) {
    const metricsTokenProblem = secretProblem('METRICS_TOKEN', metricsToken);
    if (metricsTokenProblem !== undefined) problems.push(metricsTokenProblem);
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (unset it to serve /metrics on PORT)');
  }
  if (env.MAIL_RETRY_BASE_SECONDS > env.MAIL_RETRY_MAX_SECONDS) {
    problems.push('MAIL_RETRY_BASE_SECONDS: must not exceed MAIL_RETRY_MAX_SECONDS');
  }
  const mfa = mfaSettings(env, isProduction, problems);
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  const webauthnOrigins = list(env.WEBAUTHN_ORIGINS);
  if (webauthnOrigins.some((origin) => !ORIGIN.test(origin))) {
    problems.push(
      'WEBAUTHN_ORIGINS: every entry must be an exact origin such as https://id.example.com',
    );
  }
  const oidc = oidcSettings(env, { publicUrl, keys, production: isProduction });
  problems.push(...oidc.problems);
  if (problems.length > 0 || keys === undefined) throw new ConfigurationError(problems);

  return new AppConfig({
    env: env.NODE_ENV,
    isProduction,
    http: {
      port: env.PORT,
      host: env.HOST,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      corsOrigins,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      swaggerEnabled: env.SWAGGER_ENABLED ?? !isProduction,
    },
    database:
      env.DATABASE_URL !== undefined
        ? { kind: 'postgres', url: env.DATABASE_URL }
        : { kind: 'sqlite', path: path.resolve(env.SQLITE_PATH) },
    jwt: {
      ...keys,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL,
    },
    refresh: {
      idleTtlSeconds: env.REFRESH_IDLE_TTL,
      absoluteTtlSeconds: env.REFRESH_ABSOLUTE_TTL,
      reuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
      cookie: env.REFRESH_TOKEN_COOKIE,
      cookieSameSite: env.REFRESH_COOKIE_SAMESITE,
    },
    authCache: {
      ttlSeconds: env.AUTH_CACHE_TTL,
      maxEntries: env.AUTH_CACHE_MAX_ENTRIES,
      heartbeatMs: env.AUTH_STATE_HEARTBEAT_MS,
      heartbeatDeadlineMs: env.AUTH_STATE_HEARTBEAT_DEADLINE_MS,
    },
    rateLimit: {
      enabled: env.RATE_LIMIT_ENABLED,
      ipPerMinute: env.RATE_LIMIT_IP_PER_MINUTE,
      accountPerMinute: env.RATE_LIMIT_ACCOUNT_PER_MINUTE,
      keyPrefix: env.RATE_LIMIT_KEY_PREFIX,
    },
    lockout: {
      threshold: env.LOCKOUT_THRESHOLD,
      baseSeconds: env.LOCKOUT_BASE_SECONDS,
      maxSeconds: env.LOCKOUT_MAX_SECONDS,
    },
    redisUrl: env.REDIS_URL,
    argon2: {
      memoryKib: env.ARGON2_MEMORY_KIB,
      timeCost: env.ARGON2_TIME_COST,
      parallelism: env.ARGON2_PARALLELISM,
    },
    logLevel: env.LOG_LEVEL,
    warnings: policy.warnings,

    audit: {
      key: auditKey,
      previousKeys: previousAuditKeys,
      keyFile: path.resolve(env.AUDIT_KEY_FILE),
      headLogSeconds: env.AUDIT_HEAD_LOG_SECONDS,
    },
    retention: {
      sessionDays: env.SESSION_RETENTION_DAYS,
      auditDays: env.AUDIT_RETENTION_DAYS,
      intervalSeconds: env.RETENTION_INTERVAL_SECONDS,
    },
    metrics: { token: metricsToken, port: env.METRICS_PORT },
    publicUrl,
    mail: {
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      directory: path.resolve(env.MAIL_DIR),
      productName: env.PRODUCT_NAME,
      maxAttempts: env.MAIL_MAX_ATTEMPTS,
      retryBaseSeconds: env.MAIL_RETRY_BASE_SECONDS,
      retryMaxSeconds: env.MAIL_RETRY_MAX_SECONDS,
      pollIntervalMs: env.MAIL_POLL_INTERVAL_MS,
      retentionDays: env.MAIL_RETENTION_DAYS,
    },
    accountLifecycle: {
      emailVerification: env.EMAIL_VERIFICATION,
      passwordReset: env.PASSWORD_RESET_ENABLED,
      mailFlows: mailFlowsOn(env),
      verificationTtlSeconds: env.EMAIL_VERIFICATION_TTL,
      resetTtlSeconds: env.PASSWORD_RESET_TTL,
      emailChangeTtlSeconds: env.EMAIL_CHANGE_TTL,
    },
    mfa,
    webauthn: {
      rpId: env.WEBAUTHN_RP_ID.trim() || new URL(publicUrl).hostname,
      rpName: env.PRODUCT_NAME,
      origins: webauthnOrigins.length > 0 ? webauthnOrigins : [new URL(publicUrl).origin],
    },
    oidc: oidc.settings,
  });
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

const ROLE_NAMES = new Set<string>(Object.values(RoleName));

function mfaSettings(
  env: EnvironmentVariables,
  isProduction: boolean,
  problems: string[],
): AppConfig['mfa'] {
  const key = (name: string, value: string): Buffer | undefined => {
    const bytes = encryptionKeyBytes(value);
    if (bytes === undefined) {
      problems.push(`${name}: must be 32 bytes, as 64 hex digits or base64/base64url`);
    }
    return bytes;
  };
  const encryptionKey =
    env.MFA_ENCRYPTION_KEY.trim() === ''
      ? undefined
      : key('MFA_ENCRYPTION_KEY', env.MFA_ENCRYPTION_KEY.trim());
  if (
    encryptionKey === undefined &&
    env.MFA_ENCRYPTION_KEY.trim() === '' &&
    isProduction &&
    env.MFA_ENABLED
  ) {
    problems.push(
      'MFA_ENCRYPTION_KEY: required when NODE_ENV=production and MFA_ENABLED (32 bytes, e.g. `openssl rand -hex 32`)',
    );
  }
  const previousEncryptionKeys = list(env.MFA_PREVIOUS_ENCRYPTION_KEYS)
    .map((entry) => key('MFA_PREVIOUS_ENCRYPTION_KEYS', entry))
    .filter((entry): entry is Buffer => entry !== undefined);
  const requiredForRoles = list(env.MFA_REQUIRED_FOR_ROLES);
  const unknown = requiredForRoles.filter((role) => !ROLE_NAMES.has(role));
  if (unknown.length > 0) {
    problems.push(`MFA_REQUIRED_FOR_ROLES: unknown role (known: ${[...ROLE_NAMES].join(', ')})`);
  }
  return {
    enabled: env.MFA_ENABLED,
    encryptionKey,
    previousEncryptionKeys,
    keyFile: path.resolve(env.MFA_ENCRYPTION_KEY_FILE),
    requiredForRoles: requiredForRoles.filter((role) => ROLE_NAMES.has(role)) as RoleName[],
    tokenTtlSeconds: env.MFA_TOKEN_TTL,
    tokenMaxAttempts: env.MFA_TOKEN_MAX_ATTEMPTS,
    stepUpMaxAgeSeconds: env.MFA_STEP_UP_MAX_AGE,
    adminStepUp: env.MFA_ADMIN_STEP_UP,
  };
}

/** 32 bytes from 64 hex digits or base64/base64url, else undefined. */
export function encryptionKeyBytes(value: string): Buffer | undefined {
  if (/^[0-9a-f]{64}$/i.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

function parseTrustProxy(value: string): AppConfig['http']['trustProxy'] {
  const trimmed = value.trim();
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (/^\d+$/.test(trimmed)) {
    // A hop count: believe that many proxies in front of the service.
    const hops = Number(trimmed);
    return (_address: string, hop: number) => hop < hops;
  }
  return trimmed.split(',').map((entry) => entry.trim());
}

let processConfig: AppConfig | undefined;

/**
 * This process's configuration, validated from the environment on first use and shared by
 * every entry point (bootstrap, ConfigModule, TypeORM CLI), so a generated key is generated once.
 */
export function configFromEnvironment(): AppConfig {
  processConfig ??= loadAppConfig(process.env);
  return processConfig;
}
