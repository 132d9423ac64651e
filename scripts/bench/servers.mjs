// The servers a bench loads, started the same way by `npm run bench` (run.mjs) and
// `npm run bench:compare` (compare-builds.mjs).
import * as path from 'node:path';
import {
  appDefaults,
  BARE_JWT_PATH,
  appOverrides,
  BARE_PATH,
  BENCH_DIR,
  childEnvironment,
  READY_PATH,
} from './config.mjs';
import { freePort, startServer } from './processes.mjs';
import { smtpSink } from './smtp-sink.mjs';

/**
 * A build of the app (`entry`: its dist/src/main.js) on `database`, with production settings and
 * every other variable at the app's own default (config.mjs); ready when its readiness probe
 * answers 200. Its stdout and stderr go to a log file (processes.mjs). `cpus`: a taskset CPU
 * list to pin it to.
 */
export async function startApp(settings, { entry, database, label = 'app', cpus }) {
  const port = await freePort();
  const env = childEnvironment(settings, {
    ...appDefaults(),
    ...appOverrides({
      port,
      database,
      redisUrl: settings.redisUrl,
      logLevel: settings.logLevel,
      smtpUrl: (await smtpSink()).url,
    }),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await startServer(label, [entry], env, `${baseUrl}${READY_PATH}`, { cpus });
  return {
    ...server,
    baseUrl,
    jwt: { secret: env.JWT_SECRET, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
  };
}

/**
 * Baseline (a): the bare Nest app in its own process, and the request it is loaded with. It
 * logs nothing (no logger): (a) is what Nest and Fastify cost, not logging.
 */
export async function startBareApp(settings) {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await startServer(
    'bare Nest app',
    [path.join(BENCH_DIR, 'bare-nest-app.mjs')],
    childEnvironment(settings, { NODE_ENV: 'production', PORT: String(port) }),
    `${baseUrl}${BARE_PATH}`,
  );
  return { ...server, baseUrl, request: { requests: [{ method: 'GET', path: BARE_PATH }] } };
}

/**
 * Baseline (a') of bench:jwt-floor: the bare app with passport-jwt verifying `accessToken`
 * (issued by a build of the app started with `jwt`: its secret, issuer and audience).
 */
export async function startBareJwtApp(settings, jwt, accessToken) {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await startServer(
    'bare Nest app with passport-jwt',
    [path.join(BENCH_DIR, 'bare-jwt-app.mjs')],
    childEnvironment(settings, {
      NODE_ENV: 'production',
      PORT: String(port),
      JWT_SECRET: jwt.secret,
      JWT_ISSUER: jwt.issuer,
      JWT_AUDIENCE: jwt.audience,
    }),
    `${baseUrl}${BARE_PATH}`,
  );
  const get = (route) => ({
    requests: [{ method: 'GET', path: route, headers: { authorization: `Bearer ${accessToken}` } }],
  });
  return {
    ...server,
    baseUrl,
    // (a'): @nestjs/passport's AuthGuard; (a''): the strategy run as the service runs it.
    request: get(BARE_JWT_PATH),
    directRequest: get(`${BARE_JWT_PATH}-direct`),
  };
}
