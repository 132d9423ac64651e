import type { EnvironmentVariables } from './environment';

/**
 * OWASP's argon2id minimums (Password Storage Cheat Sheet), p=1: each pair is an equally strong
 * (memory KiB, iterations) point; a setting must reach one of them in both.
 */
export const ARGON2_MINIMUMS: ReadonlyArray<{ memoryKib: number; timeCost: number }> = [
  { memoryKib: 47104, timeCost: 1 },
  { memoryKib: 19456, timeCost: 2 },
  { memoryKib: 12288, timeCost: 3 },
  { memoryKib: 9216, timeCost: 4 },
  { memoryKib: 7168, timeCost: 5 },
];

/** Longest AUTH_CACHE_TTL production accepts without an opt-out, in seconds. */
export const MAX_PRODUCTION_AUTH_CACHE_TTL = 300;

interface OptOutSetting {
  /** True when the environment has this setting at its insecure value. */
  insecure(env: EnvironmentVariables): boolean;
  /** What the insecure value costs, said in the refusal and in the warning. */
  risk: string;
}

/**
 * Settings production refuses unless their name is listed in PRODUCTION_ALLOW_INSECURE. Each
 * has a deployment that may need it (a proxy that sets the client address, a gateway doing the
 * rate limiting, an intranet without TLS), so each can be accepted, named, and warned about at
 * every boot.
 */
export const OPT_OUT_SETTINGS = {
  RATE_LIMIT_ENABLED: {
    insecure: (env) => !env.RATE_LIMIT_ENABLED,
    risk: 'rate limits are off: password guessing and registration are bounded only by lockout',
  },
  TRUST_PROXY: {
    insecure: (env) => trustsAnyProxy(env.TRUST_PROXY),
    risk:
      'every X-Forwarded-For is believed, so a client picks the IP that rate limits, sessions ' +
      "and the audit log see; give the proxies' hop count or addresses instead",
  },
  AUTH_CACHE_TTL: {
    insecure: (env) => env.AUTH_CACHE_TTL > MAX_PRODUCTION_AUTH_CACHE_TTL,
    risk:
      `above ${MAX_PRODUCTION_AUTH_CACHE_TTL} seconds: a revoked token or a deactivated user ` +
      'may be accepted that long when a change notification is lost',
  },
  CORS_ORIGINS: {
    insecure: (env) => originsOf(env).some((origin) => origin.toLowerCase().startsWith('http:')),
    risk:
      'an http:// origin may call the API with credentials, and anyone on its network can ' +
      'inject a page into it',
  },
} satisfies Record<string, OptOutSetting>;

type OptOutName = keyof typeof OPT_OUT_SETTINGS;

/**
 * What NODE_ENV=production refuses (problems, each naming its variable, never its value) and
 * what it accepts but warns about at every boot. Outside production: nothing. (A guessable
 * JWT_SECRET is refused by signing-keys.ts, where the keys are built.)
 */
export function productionPolicy(env: EnvironmentVariables): {
  problems: string[];
  warnings: string[];
} {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (env.NODE_ENV !== 'production') return { problems, warnings };

  if (!argon2MeetsMinimum(env.ARGON2_MEMORY_KIB, env.ARGON2_TIME_COST)) {
    problems.push(
      'ARGON2_MEMORY_KIB, ARGON2_TIME_COST: below the OWASP argon2id minimum; use at least ' +
        ARGON2_MINIMUMS.map(
          ({ memoryKib, timeCost }) => `${memoryKib} KiB with t=${timeCost}`,
        ).join(', '),
    );
  }

  if (mailFlowsOn(env)) {
    // Without these a flow would mail links nobody receives, or links to localhost.
    const off = 'or turn the mail flows off (EMAIL_VERIFICATION=off, PASSWORD_RESET_ENABLED=false)';
    if (env.SMTP_URL === undefined) {
      problems.push(
        `SMTP_URL: required when NODE_ENV=production and a mail flow is on; set it ${off}`,
      );
    }
    if (env.PUBLIC_URL === undefined || !env.PUBLIC_URL.startsWith('https://')) {
      problems.push(
        `PUBLIC_URL: an https:// URL is required in production for the links in mails; set it ${off}`,
      );
    }
    if (/@localhost>?$/i.test(env.MAIL_FROM.trim())) {
      problems.push(`MAIL_FROM: set the sender address of the mails ${off}`);
    }
  }

  const allowed = new Set<string>();
  const listed = env.PRODUCTION_ALLOW_INSECURE.split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  for (const name of listed) allowed.add(name);
  if (listed.some((name) => !(name in OPT_OUT_SETTINGS))) {
    problems.push(
      `PRODUCTION_ALLOW_INSECURE: may list only ${Object.keys(OPT_OUT_SETTINGS).join(', ')}`,
    );
  }
  for (const [name, setting] of Object.entries(OPT_OUT_SETTINGS) as Array<
    [OptOutName, OptOutSetting]
  >) {
    if (!setting.insecure(env)) continue;
    if (allowed.has(name)) {
      warnings.push(
        `${name}: insecure value accepted by PRODUCTION_ALLOW_INSECURE: ${setting.risk}`,
      );
    } else {
      problems.push(
        `${name}: refused when NODE_ENV=production: ${setting.risk} ` +
          `(PRODUCTION_ALLOW_INSECURE=${name} accepts it)`,
      );
    }
  }

  // Not a weakened control (the document describes the public API), so a warning, not a refusal.
  if (env.SWAGGER_ENABLED === true) {
    warnings.push(
      'SWAGGER_ENABLED: Swagger UI and the OpenAPI document are served at /docs in production',
    );
  }
  return { problems, warnings };
}

export function argon2MeetsMinimum(memoryKib: number, timeCost: number): boolean {
  return ARGON2_MINIMUMS.some(
    (minimum) => memoryKib >= minimum.memoryKib && timeCost >= minimum.timeCost,
  );
}

/** `true`, or a list with an entry that matches every address (0.0.0.0/0, ::/0). */
function trustsAnyProxy(value: string): boolean {
  const entries = value.split(',').map((entry) => entry.trim());
  return entries.some((entry) => entry === 'true' || /^(0\.0\.0\.0|::)\/0$/.test(entry));
}

function originsOf(env: EnvironmentVariables): string[] {
  return env.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
}

/** True when some flow sends mail: email verification or password reset. */
export function mailFlowsOn(
  env: Pick<EnvironmentVariables, 'EMAIL_VERIFICATION' | 'PASSWORD_RESET_ENABLED'>,
): boolean {
  return env.EMAIL_VERIFICATION !== 'off' || env.PASSWORD_RESET_ENABLED;
}
