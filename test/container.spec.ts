import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

// What CI can check of the container files without a Docker daemon (README.md, "Container").
const REPO = process.cwd();
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');

/** The commands of the README's "Production procedure" block, comments dropped. */
function readmeProductionCommands(): string[] {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('### Production procedure'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

interface Instruction {
  keyword: string;
  argument: string;
}

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function dockerfile(): Instruction[] {
  return read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), argument: rest.join(' ') };
    });
}

/** The command of a JSON-form CMD or healthcheck, as one shell-like line. */
const commandLine = (json: string) => (JSON.parse(json) as string[]).join(' ');

describe('Dockerfile', () => {
  const instructions = dockerfile();
  const stages = instructions.filter(({ keyword }) => keyword === 'FROM');
  const lastFrom = instructions.lastIndexOf(stages[stages.length - 1]);
  const runtime = instructions.slice(lastFrom);

  it('runs, as its npm and node commands, exactly the README production procedure', () => {
    const readme = readmeProductionCommands();
    assert.deepEqual(readme, [
      'npm ci',
      'npm run build',
      'npm ci --omit=dev',
      'node dist/src/cli/main.js migrate',
      'node dist/src/main.js',
    ]);
    const npmRuns = instructions
      .filter(({ keyword, argument }) => keyword === 'RUN' && argument.startsWith('npm '))
      .map(({ argument }) => argument);
    assert.deepEqual(npmRuns, ['npm ci', 'npm run build', 'npm ci --omit=dev']);
    const cmd = runtime.find(({ keyword }) => keyword === 'CMD');
    assert.ok(cmd !== undefined, 'the runtime stage has a CMD');
    assert.equal(commandLine(cmd.argument), 'node dist/src/main.js');
    assert.ok(readme.includes(commandLine(cmd.argument)));
  });

  it('builds in separate stages and runs as a non-root user with a liveness healthcheck', () => {
    assert.ok(stages.length >= 3, 'a toolchain/build stage, a dependencies stage and a runtime');
    assert.ok(
      runtime.some(
        ({ keyword, argument }) => keyword === 'COPY' && argument.includes('--from=build'),
      ),
    );
    assert.ok(
      runtime.some(
        ({ keyword, argument }) => keyword === 'COPY' && argument.includes('--from=deps'),
      ),
    );
    // No compiler and no npm install in the image that runs.
    assert.ok(
      !runtime.some(({ keyword, argument }) => keyword === 'RUN' && /npm|apt-get/.test(argument)),
    );
    const user = runtime.filter(({ keyword }) => keyword === 'USER').pop();
    assert.ok(user !== undefined && !['root', '0'].includes(user.argument));
    const env = runtime.find(({ keyword }) => keyword === 'ENV');
    assert.equal(env?.argument, 'NODE_ENV=production');
    const healthcheck = runtime.find(({ keyword }) => keyword === 'HEALTHCHECK');
    assert.match(healthcheck?.argument ?? '', /CMD \["node", "-e", .*\/api\/v1\/health\/live/);
  });

  it('leaves node_modules, builds, data and .env out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', 'dist', 'data', '.env', '.git']) {
      assert.ok(ignored.includes(entry), entry);
    }
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  env_file?: string;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const { services } = compose;

  it('runs the service with PostgreSQL, Redis and a migration step', () => {
    assert.deepEqual(Object.keys(services).sort(), ['identity', 'migrate', 'postgres', 'redis']);
    assert.match(services.postgres.image ?? '', /^postgres:/);
    assert.match(services.redis.image ?? '', /^redis:/);
    for (const name of ['identity', 'migrate']) {
      const service = services[name];
      assert.ok(service.build !== undefined, `${name} is built from the Dockerfile`);
      assert.equal(service.env_file, '.env');
      assert.match(service.environment?.DATABASE_URL ?? '', /^postgres:\/\/.*@postgres:5432\//);
      assert.equal(service.environment?.NODE_ENV, 'production');
    }
    assert.equal(services.identity.environment?.REDIS_URL, 'redis://redis:6379');
    assert.deepEqual(services.migrate.command, ['node', 'dist/src/cli/main.js', 'migrate']);
    assert.ok(readmeProductionCommands().includes(services.migrate.command.join(' ')));
  });

  it('has healthchecks and starts each service only after what it needs is healthy or done', () => {
    assert.match(services.postgres.healthcheck!.test.join(' '), /pg_isready/);
    assert.match(services.redis.healthcheck!.test.join(' '), /redis-cli ping/);
    assert.match(services.identity.healthcheck!.test.join(' '), /\/api\/v1\/health\/live/);
    assert.deepEqual(services.migrate.depends_on, { postgres: { condition: 'service_healthy' } });
    assert.deepEqual(services.identity.depends_on, {
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
  });
});
