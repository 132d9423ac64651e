import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { AppModule } from '../src/app.module';
import { configureApp, createFastifyAdapter } from '../src/app.setup';
import { AppConfig, loadAppConfig } from '../src/config/app-config';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { User } from '../src/users/entities/user.entity';
import { TEST_PASSWORD, uniqueUsername } from './helpers/factories';
import { testEnvironment } from './helpers/test-app';
import { createTestDatabase, TestDatabase } from './helpers/test-database';

// The compiled entry point beside this compiled file, whatever outDir the runner compiled to.
const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');

describe('npm run cli -- create-admin', () => {
  let database: TestDatabase;
  let booted: Promise<NestFastifyApplication> | undefined;

  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    if (booted !== undefined) await (await booted).close();
    await database.drop();
  });

  function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    return spawnSync(process.execPath, [CLI, ...args], {
      cwd: process.cwd(),
      // DATABASE_URL '' keeps a developer's .env from sending a SQLite run to PostgreSQL.
      env: {
        ...process.env,
        DATABASE_URL: '',
        ...testEnvironment(database),
        ADMIN_PASSWORD: TEST_PASSWORD,
        ...env,
      },
      encoding: 'utf8',
    });
  }

  // The HTTP app on the CLI's database, booted on first use so the first CLI run migrates an empty one.
  function app(): Promise<NestFastifyApplication> {
    booted ??= (async () => {
      const config = loadAppConfig(testEnvironment(database));
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
        .overrideProvider(AppConfig)
        .useValue(config)
        .compile();
      const nest = moduleRef.createNestApplication<NestFastifyApplication>(
        createFastifyAdapter(config, { logger: false }),
        { logger: ['fatal', 'error'] },
      );
      await configureApp(nest, config);
      return nest;
    })();
    return booted;
  }

  async function http(): Promise<supertest.Agent> {
    const server: Server = (await app()).getHttpServer();
    return supertest.agent(server);
  }

  async function usersNamed(username: string): Promise<number> {
    return (await app()).get(DataSource).getRepository(User).countBy({ username });
  }

  it('creates an admin who can log in, reach admin routes and holds all three roles', async () => {
    const username = uniqueUsername('admin');
    const result = cli([
      'create-admin',
      `--username=${username}`,
      '--email',
      `${username}@example.com`,
    ]);

    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `^Created admin ${username} \\([0-9a-f-]{36}\\) with ROLE_USER, ROLE_MODERATOR, ROLE_ADMIN$`,
        'm',
      ),
    );
    assert.ok(!`${result.stdout}${result.stderr}`.includes(TEST_PASSWORD));

    const agent = await http();
    const login = await agent
      .post('/api/v1/auth/login')
      .send({ username, password: TEST_PASSWORD })
      .expect(200);
    const authorization = `Bearer ${login.body.access_token}`;
    await agent.get('/api/v1/content/admin').set('Authorization', authorization).expect(200);
    const me = await agent.get('/api/v1/users/me').set('Authorization', authorization).expect(200);
    assert.deepEqual([...me.body.roles].sort(), ['ROLE_ADMIN', 'ROLE_MODERATOR', 'ROLE_USER']);
  });

  it('refuses a taken username or email and leaves the first admin as it was', async () => {
    const username = uniqueUsername('admin');
    const email = `${username}@example.com`;
    assert.equal(cli(['create-admin', '--username', username, '--email', email]).status, 0);

    const again = cli(
      ['create-admin', '--username', username.toUpperCase(), '--email', `other-${email}`],
      {
        ADMIN_PASSWORD: 'another-long-secret-9',
      },
    );
    assert.equal(again.status, 1, again.stderr);
    assert.match(
      again.stderr,
      new RegExp(`username "${username}" is already taken; nothing was changed`),
    );

    const sameEmail = cli([
      'create-admin',
      '--username',
      uniqueUsername('admin'),
      '--email',
      email.toUpperCase(),
    ]);
    assert.equal(sameEmail.status, 1, sameEmail.stderr);
    assert.match(sameEmail.stderr, new RegExp(`email "${email}" is already registered`));

    assert.equal(await usersNamed(username), 1);
    // The first password still works: the second run changed nothing.
    await (
      await http()
    )
      .post('/api/v1/auth/login')
      .send({ username, password: TEST_PASSWORD })
      .expect(200);
  });

  it('applies the registration password policy and creates nothing', async () => {
    const username = uniqueUsername('admin');
    const result = cli(
      ['create-admin', '--username', username, '--email', `${username}@example.com`],
      {
        ADMIN_PASSWORD: 'password1',
      },
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /password is too common/);
    assert.ok(!result.stderr.includes('password1'), result.stderr);
    assert.equal(await usersNamed(username), 0);
  });

  it('exits 2 with the usage when an option or the command is wrong', () => {
    const missingEmail = cli(['create-admin', '--username', uniqueUsername('admin')]);
    assert.equal(missingEmail.status, 2);
    assert.match(missingEmail.stderr, /Missing option --email/);
    assert.match(missingEmail.stderr, /^Usage:/m);

    assert.equal(cli(['make-coffee']).status, 2);
    const help = cli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage:/);
  });

  it('exits 2 when ADMIN_PASSWORD is unset and stdin is not a terminal', async () => {
    const username = uniqueUsername('admin');
    const result = cli(
      ['create-admin', '--username', username, '--email', `${username}@example.com`],
      {
        ADMIN_PASSWORD: undefined,
      },
    );
    assert.equal(result.status, 2);
    assert.match(result.stderr, /ADMIN_PASSWORD is not set and no terminal to prompt on/);
    assert.equal(await usersNamed(username), 0);
  });
});

describe('npm run cli -- audit:verify', () => {
  // Every CLI run of these tests is a new process: they share one audit key, as a deployment does.
  const AUDIT_KEY = randomBytes(32).toString('base64url');
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database.drop();
  });

  function cli(args: string[]) {
    return spawnSync(process.execPath, [CLI, ...args], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        DATABASE_URL: '',
        ...testEnvironment(database),
        ADMIN_PASSWORD: TEST_PASSWORD,
        AUDIT_KEY,
      },
      encoding: 'utf8',
    });
  }

  /** The CLI's database, opened the way the migrations test opens one. */
  async function withDataSource<T>(use: (dataSource: DataSource) => Promise<T>): Promise<T> {
    const config = loadAppConfig(testEnvironment(database));
    const dataSource = new DataSource(buildDataSourceOptions(config, { runMigrations: false }));
    await dataSource.initialize();
    try {
      return await use(dataSource);
    } finally {
      await dataSource.destroy();
    }
  }

  it('refuses a database that was never migrated, and creates nothing', async () => {
    const result = cli(['audit:verify']);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /no audit_events table/);
    const tables = await withDataSource(async (dataSource) => {
      const runner = dataSource.createQueryRunner();
      try {
        return [await runner.hasTable('migrations'), await runner.hasTable('audit_events')];
      } finally {
        await runner.release();
      }
    });
    assert.deepEqual(tables, [false, false]);
  });

  it('reports an intact log after create-admin recorded its event', async () => {
    const username = uniqueUsername('admin');
    const created = cli([
      'create-admin',
      '--username',
      username,
      '--email',
      `${username}@example.com`,
    ]);
    assert.equal(created.status, 0, created.stderr);
    const adminId = /\(([0-9a-f-]{36})\)/.exec(created.stdout)?.[1];

    const events = await withDataSource((dataSource) =>
      dataSource.getRepository(AuditEvent).find(),
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'admin.created');
    assert.equal(events[0]?.actorId, null);
    assert.equal(events[0]?.subjectUserId, adminId);
    assert.deepEqual(JSON.parse(events[0]?.details ?? ''), {
      roles: ['ROLE_USER', 'ROLE_MODERATOR', 'ROLE_ADMIN'],
      via: 'cli',
    });

    const result = cli(['audit:verify']);
    assert.equal(result.status, 0, result.stderr);
    const [summary, head, ...rest] = result.stdout.split('\n');
    assert.equal(summary, 'Audit log OK: 1 event');
    assert.match(head ?? '', /^Head: 1:[0-9a-f]{64} /);
    assert.deepEqual(rest, ['']);
  });

  it('records nothing when create-admin refuses', async () => {
    const username = uniqueUsername('admin');
    assert.equal(
      cli(['create-admin', '--username', username, '--email', 'a@example.com']).status,
      0,
    );
    const again = cli(['create-admin', '--username', username, '--email', 'b@example.com']);
    assert.equal(again.status, 1);
    const count = await withDataSource((dataSource) =>
      dataSource.getRepository(AuditEvent).count(),
    );
    assert.equal(count, 2);
    assert.match(cli(['audit:verify']).stdout, /^Audit log OK: 2 events\n/);
  });

  it('exits 1 and names the event when a row was edited in the database', async () => {
    const first = await withDataSource(async (dataSource) => {
      const repository = dataSource.getRepository(AuditEvent);
      const event = await repository.findOneByOrFail({ sequence: 1 });
      await repository.update({ id: event.id }, { details: '{"via":"sql"}' });
      return event;
    });

    const result = cli(['audit:verify']);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      new RegExp(`^Audit log BROKEN at event ${first.id} \\(sequence 1\\): .*altered`, 'm'),
    );
  });
});
