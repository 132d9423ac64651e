import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadAppConfig } from '../src/config/app-config';

// This file compiled, in <build>/test/; the build's root and the checkout's.
const BUILD = path.resolve(__dirname, '..');
const ROOT = path.resolve(BUILD, '..');

interface BenchConfig {
  appDefaults(build: string): Record<string, string>;
  appOverrides(options: {
    port: number;
    database: { env: Record<string, string> };
    redisUrl: string | undefined;
    logLevel: string | undefined;
    smtpUrl: string;
  }): Record<string, string>;
}

/**
 * `npm run bench` measures the shipped defaults: the environment it gives the app
 * (scripts/bench/config.mjs) is every variable at the app's own default plus its few overrides.
 * The app must boot with it; an optional variable passed as the text "undefined" once stopped
 * the bench's app at boot.
 */
describe('the environment npm run bench gives the app', () => {
  it('is accepted by the configuration, with production settings and the defaults', async () => {
    const bench = (await import(path.join(ROOT, 'scripts/bench/config.mjs'))) as BenchConfig;
    const env = {
      ...bench.appDefaults(BUILD),
      ...bench.appOverrides({
        port: 3999,
        database: { env: { SQLITE_PATH: path.join(ROOT, 'data', 'bench-settings.sqlite') } },
        redisUrl: undefined,
        logLevel: undefined,
        smtpUrl: 'smtp://127.0.0.1:2525',
      }),
    };
    const config = loadAppConfig(env);
    assert.equal(config.isProduction, true);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.http.swaggerEnabled, false);
    assert.equal(config.rateLimit.enabled, true);
    assert.deepEqual(config.metrics, { token: undefined, port: undefined });
    assert.equal(config.jwt.algorithm, 'HS256');
  });
});
