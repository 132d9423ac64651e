import { createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { ConfigurationError, EnvironmentVariables, validateEnvironment } from './environment';

export const MIN_JWT_SECRET_BYTES = 32;

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
    trustProxy: boolean;
    corsOrigins: string[];
    bodyLimitBytes: number;
    swaggerEnabled: boolean;
  };
  readonly database: DatabaseConfig;
  readonly jwt: {
    algorithm: 'HS256';
    key: KeyObject;
    /** True when no JWT_SECRET was configured and a per-boot key was generated. */
    generated: boolean;
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
  };
  readonly argon2: { memoryKib: number; timeCost: number; parallelism: number };
  readonly logLevel: EnvironmentVariables['LOG_LEVEL'];

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

  let key: KeyObject;
  let generated = false;
  if (env.JWT_SECRET !== undefined) {
    const secret = Buffer.from(env.JWT_SECRET, 'utf8');
    if (secret.length < MIN_JWT_SECRET_BYTES) {
      problems.push(`JWT_SECRET: must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
    }
    key = createSecretKey(secret);
  } else if (isProduction) {
    problems.push(
      `JWT_SECRET: required when NODE_ENV=production (at least ${MIN_JWT_SECRET_BYTES} bytes)`,
    );
    key = createSecretKey(randomBytes(MIN_JWT_SECRET_BYTES));
  } else {
    key = createSecretKey(randomBytes(64));
    generated = true;
  }
  const corsOrigins = env.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  for (const origin of corsOrigins) {
    if (!ORIGIN.test(origin)) {
      // '*' or 'null' would hand credentials to any page; only exact origins are accepted.
      problems.push(
        'CORS_ORIGINS: every entry must be an exact origin such as https://app.example.com',
      );
      break;
    }
  }
  if (problems.length > 0) throw new ConfigurationError(problems);

  return new AppConfig({
    env: env.NODE_ENV,
    isProduction,
    http: {
      port: env.PORT,
      host: env.HOST,
      trustProxy: env.TRUST_PROXY,
      corsOrigins,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      swaggerEnabled: env.SWAGGER_ENABLED,
    },
    database:
      env.DATABASE_URL !== undefined
        ? { kind: 'postgres', url: env.DATABASE_URL }
        : { kind: 'sqlite', path: path.resolve(env.SQLITE_PATH) },
    jwt: {
      algorithm: env.JWT_ALGORITHM,
      key,
      generated,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL,
    },
    argon2: {
      memoryKib: env.ARGON2_MEMORY_KIB,
      timeCost: env.ARGON2_TIME_COST,
      parallelism: env.ARGON2_PARALLELISM,
    },
    logLevel: env.LOG_LEVEL,
  });
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
