import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { AuditService } from '../src/audit/audit.service';
import { NO_REQUEST_CONTEXT } from '../src/common/request-context';
import { createTestApp, TestApp, testEnvironment } from './helpers/test-app';

// The compiled entry point beside this compiled file, whatever outDir the runner compiled to.
const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const HEAD_LINE = /^(\d+):([0-9a-f]{64}) (\d{4}-\d{2}-\d{2}T[\d:.]+Z)$/;

// Few CLI runs: each is a process that loads Nest, and a test file has a time limit.
describe('npm run cli -- audit:head, audit:verify --head, prune', () => {
  const AUDIT_KEY = randomBytes(32).toString('base64url');
  let t: TestApp;
  before(async () => {
    // The server side, with the key the CLI's processes are given too.
    t = await createTestApp({ env: { AUDIT_KEY } });
    const audit = t.app.get(AuditService);
    for (let index = 0; index < 3; index++) {
      await audit.record(
        t.dataSource.manager,
        { type: 'user.updated', actorId: null, subjectUserId: randomUUID(), details: { index } },
        NO_REQUEST_CONTEXT,
      );
    }
  });
  after(async () => {
    await t.close();
  });

  function cli(args: string[], env: Record<string, string> = {}) {
    return spawnSync(process.execPath, [CLI, ...args], {
      cwd: process.cwd(),
      // DATABASE_URL '' keeps a developer's .env from sending a SQLite run to PostgreSQL.
      env: { ...process.env, DATABASE_URL: '', ...testEnvironment(t.database), AUDIT_KEY, ...env },
      encoding: 'utf8',
    });
  }

  it('prints the head, and verifies against it until the newest events are removed', async () => {
    const printed = cli(['audit:head']);
    assert.equal(printed.status, 0, printed.stderr);
    const line = printed.stdout.trim();
    const match = HEAD_LINE.exec(line);
    assert.ok(match, line);
    const [, sequence, hash] = match;
    assert.equal(Number(sequence), 3);
    // The whole line is accepted: the time after the head is for people.
    const anchored = cli(['audit:verify', '--head', line]);
    assert.equal(anchored.status, 0, anchored.stderr);
    assert.match(anchored.stdout, /^Audit log OK: 3 events; head 3 matches\nHead: 3:/);

    // Deleting the newest event leaves a shorter chain that verifies on its own, but not
    // against the head kept elsewhere.
    await t.dataSource.getRepository(AuditEvent).delete({ sequence: 3 });
    const truncated = cli(['audit:verify', '--head', `${sequence}:${hash}`]);
    assert.equal(truncated.status, 1);
    assert.equal(truncated.stdout, '');
    assert.match(
      truncated.stderr,
      /^Audit log BROKEN: the chain ends at sequence 2, before the expected head 3 \(the newest events were removed\)/m,
    );
  });

  it('exits 1 with another AUDIT_KEY', () => {
    const wrong = cli(['audit:verify'], { AUDIT_KEY: randomBytes(32).toString('base64url') });
    assert.equal(wrong.status, 1);
    assert.match(
      wrong.stderr,
      /^Audit log BROKEN at event .* \(sequence 1\): .*neither AUDIT_KEY nor in AUDIT_PREVIOUS_KEYS/m,
    );
  });

  it('runs one retention pass with prune', () => {
    const pruned = cli(['prune']);
    assert.equal(pruned.status, 0, pruned.stderr);
    assert.equal(
      pruned.stdout,
      'Pruned 0 sessions, 0 refresh tokens, 0 mails, 0 account tokens, 0 MFA challenges, 0 OpenID Provider records, 0 audit events\n',
    );
  });
});
