import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Server } from 'node:http';
import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp, createFastifyAdapter } from '../../src/app.setup';
import { Clock } from '../../src/common/clock/clock';
import { AppConfig, loadAppConfig } from '../../src/config/app-config';
import { createTestDatabase, TestDatabase } from './test-database';
import { TestClock } from './test-clock';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  clock: TestClock;
  dataSource: DataSource;
  database: TestDatabase;
  /** supertest against the running app. */
  http: () => supertest.Agent;
  close(): Promise<void>;
}

/** Environment every test app starts from; cheap argon2 so suites stay fast. */
export function testEnvironment(
  database: TestDatabase,
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    LOG_LEVEL: 'silent',
    // Every request of a test comes from 127.0.0.1: suites that test limits turn them on.
    RATE_LIMIT_ENABLED: 'false',
    RATE_LIMIT_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}`,
    // Without SMTP_URL mails become .eml files: never in the checkout's data/.
    MAIL_DIR: path.join(os.tmpdir(), `identity-test-mail-${randomBytes(6).toString('hex')}`),
    // With REDIS_URL set (CI's PostgreSQL run), limits and any shared state use Redis.
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...database.env,
    ...env,
  };
}

/**
 * Boots the real AppModule (real migrations, real database, the same HTTP setup as main.ts)
 * with its own fresh database. Only the configuration and the clock are replaced.
 */
export async function createTestApp(
  options: {
    env?: Record<string, string>;
    /** Share another app's database (a second instance); it is then not dropped on close. */
    database?: TestDatabase;
  } = {},
): Promise<TestApp> {
  const shared = options.database !== undefined;
  const database = options.database ?? (await createTestDatabase());
  const config = loadAppConfig(testEnvironment(database, options.env));
  const clock = new TestClock();
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(AppConfig)
    .useValue(config)
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    createFastifyAdapter(config, { logger: false }),
    { logger: ['fatal', 'error'] },
  );
  await configureApp(app, config);
  const server: Server = app.getHttpServer();
  return {
    app,
    config,
    clock,
    dataSource: app.get(DataSource),
    database,
    http: () => supertest.agent(server),
    async close() {
      await app.close();
      if (!shared) await database.drop();
    },
  };
}
