import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAppConfig } from '../config/app-config';
import { ConfigurationError } from '../config/environment';
import { AuditKeyring } from './audit-key';

const SECRET = randomBytes(48).toString('base64url');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadAppConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
}

describe('AUDIT_KEY', () => {
  it('is required in production, and refused when short or a repeated pattern', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      EMAIL_VERIFICATION: 'off',
      PASSWORD_RESET_ENABLED: 'false',
    };
    assert.match(problemsOf(production).join(), /AUDIT_KEY: required/);
    for (const weak of [
      'short-key',
      'a'.repeat(32),
      'changeme'.repeat(4),
      '0123456789'.repeat(4),
    ]) {
      assert.match(
        problemsOf({ ...production, AUDIT_KEY: weak }).join(),
        /AUDIT_KEY: (must be|too predictable)/,
        weak,
      );
    }
    assert.deepEqual(problemsOf({ ...production, AUDIT_KEY: randomBytes(32).toString('hex') }), []);
    // The value never appears in the message.
    assert.ok(
      !problemsOf({ ...production, AUDIT_KEY: 'hunter2hunter2' })
        .join()
        .includes('hunter2'),
    );
  });

  it('is a key of its own for each process under NODE_ENV=test', () => {
    const config = loadAppConfig({ NODE_ENV: 'test' });
    assert.notEqual(new AuditKeyring(config).current.id, new AuditKeyring(config).current.id);
  });

  describe('outside production without AUDIT_KEY', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'audit-key-'));
    after(() => rmSync(directory, { recursive: true, force: true }));

    it('generates a key once into AUDIT_KEY_FILE (mode 0600) and reuses it', () => {
      const file = path.join(directory, 'nested', 'audit.key');
      const config = loadAppConfig({ NODE_ENV: 'development', AUDIT_KEY_FILE: file });
      const first = new AuditKeyring(config).current;
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(new AuditKeyring(config).current.id, first.id);
      assert.equal(first.key.length, 43);
    });

    it('refuses a weak key in the file', () => {
      const file = path.join(directory, 'weak.key');
      writeFileSync(file, 'changeme\n');
      const config = loadAppConfig({ NODE_ENV: 'development', AUDIT_KEY_FILE: file });
      assert.throws(() => new AuditKeyring(config), /shorter than 32 bytes or not random/);
    });
  });
});
