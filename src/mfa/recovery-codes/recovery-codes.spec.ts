import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemClock } from '../../common/clock/clock';
import type { Transaction } from '../../database/database';
import { RECOVERY_CODE_COUNT, RecoveryCodes } from './recovery-codes';
import type { RecoveryCodesRepository } from './recovery-codes.repository';

function withStore(): { codes: RecoveryCodes; hashes: Map<string, boolean> } {
  const hashes = new Map<string, boolean>();
  const repository = {
    replace: (_tx: Transaction, _userId: string, rows: Array<{ codeHash: string }>) => {
      hashes.clear();
      for (const row of rows) hashes.set(row.codeHash, false);
      return Promise.resolve();
    },
    consume: (_userId: string, codeHash: string) => {
      if (hashes.get(codeHash) !== false) return Promise.resolve(false);
      hashes.set(codeHash, true);
      return Promise.resolve(true);
    },
  } as unknown as RecoveryCodesRepository;
  return { codes: new RecoveryCodes(repository, new SystemClock()), hashes };
}

describe('RecoveryCodes', () => {
  it('makes ten distinct 80-bit codes and stores only their hashes', async () => {
    const { codes, hashes } = withStore();
    const issued = await codes.regenerate({} as Transaction, 'user-1');
    assert.equal(issued.length, RECOVERY_CODE_COUNT);
    assert.equal(new Set(issued).size, RECOVERY_CODE_COUNT);
    for (const code of issued)
      assert.match(code, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    for (const hash of hashes.keys()) {
      assert.match(hash, /^[0-9a-f]{64}$/);
      assert.ok(!issued.some((code) => hash.includes(code.replace(/-/g, ''))));
    }
  });

  it('takes a code once, however it is typed', async () => {
    const { codes } = withStore();
    const [code] = await codes.regenerate({} as Transaction, 'user-1');
    const typed = ` ${code.toUpperCase().replace(/-/g, ' ')} `;
    assert.equal(await codes.consume('user-1', typed), true);
    assert.equal(await codes.consume('user-1', code), false);
  });

  it('refuses what cannot be a code', async () => {
    const { codes } = withStore();
    await codes.regenerate({} as Transaction, 'user-1');
    for (const wrong of ['', '123456', 'iiii-llll-oooo-uuuu', 'x'.repeat(200)]) {
      assert.equal(await codes.consume('user-1', wrong), false);
    }
  });
});
