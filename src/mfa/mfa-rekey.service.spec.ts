import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AuditService, NewAuditEvent } from '../audit/audit.service';
import { loadAppConfig } from '../config/app-config';
import type { Transaction, Transactions } from '../database/database';
import { MfaRekeyService } from './mfa-rekey.service';
import { MfaSecretBox } from './mfa-secret-box';
import type { TotpRepository } from './totp/totp.repository';

// MfaRekeyService at the repository seam: which rows it re-seals, against an in-memory table.
// The same with the CLI and a real database: test/mfa-cli.e2e-spec.ts.

const oldKey = randomBytes(32).toString('hex');
const newKey = randomBytes(32).toString('hex');

function config(env: Record<string, string>) {
  return loadAppConfig({ NODE_ENV: 'test', ...env });
}

function service(
  rows: Map<string, string>,
  env: Record<string, string>,
  options: { changeDuringRun?: string } = {},
) {
  const events: NewAuditEvent[] = [];
  const repository = {
    listSealed: () =>
      Promise.resolve(
        [...rows].map(([userId, secretCiphertext]) => ({ userId, secretCiphertext })),
      ),
    reseal: (userId: string, previous: string, sealed: string) => {
      if (userId === options.changeDuringRun) rows.set(userId, 'replaced meanwhile');
      if (rows.get(userId) !== previous) return Promise.resolve(false);
      rows.set(userId, sealed);
      return Promise.resolve(true);
    },
  } as unknown as TotpRepository;
  const audit = {
    record: (_tx: Transaction, event: NewAuditEvent) => {
      events.push(event);
      return Promise.resolve();
    },
  } as unknown as AuditService;
  const transactions = {
    run: <T>(work: (tx: Transaction) => Promise<T>) => work({} as Transaction),
  } as unknown as Transactions;
  const appConfig = config(env);
  const box = new MfaSecretBox(appConfig);
  return {
    rekey: new MfaRekeyService(repository, box, audit, transactions, appConfig),
    box,
    events,
  };
}

describe('MfaRekeyService', () => {
  it('re-seals what an earlier key sealed, leaves the current ones, and counts each kind', async () => {
    const before = new MfaSecretBox(config({ MFA_ENCRYPTION_KEY: oldKey }));
    const rows = new Map([
      ['user-a', before.seal('SECRETA', 'user-a')],
      ['user-b', before.seal('SECRETB', 'user-b')],
      [
        'user-c',
        new MfaSecretBox(config({ MFA_ENCRYPTION_KEY: newKey })).seal('SECRETC', 'user-c'),
      ],
      [
        'user-d',
        new MfaSecretBox(config({ MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex') })).seal(
          'X',
          'user-d',
        ),
      ],
    ]);
    const { rekey, box, events } = service(
      rows,
      { MFA_ENCRYPTION_KEY: newKey, MFA_PREVIOUS_ENCRYPTION_KEYS: oldKey },
      { changeDuringRun: 'user-b' },
    );
    const outcome = await rekey.rekeyAll();
    assert.deepEqual(outcome, { rekeyed: 1, current: 1, changed: 1, unreadable: ['user-d'] });
    const only = new MfaSecretBox(config({ MFA_ENCRYPTION_KEY: newKey }));
    assert.equal(only.open(rows.get('user-a') ?? '', 'user-a'), 'SECRETA');
    assert.equal(box.sealedUnderEarlierKey(rows.get('user-a') ?? ''), false);
    assert.equal(rows.get('user-b'), 'replaced meanwhile');
    assert.deepEqual(
      events.map((event) => [event.type, event.details]),
      [['mfa.secrets_rekeyed', { rekeyed: 1, current: 1, changed: 1, unreadable: 1 }]],
    );
  });

  it('refuses to run without a configured MFA_ENCRYPTION_KEY, changing nothing', async () => {
    const sealed = new MfaSecretBox(config({ MFA_ENCRYPTION_KEY: oldKey })).seal('S', 'user-a');
    const rows = new Map([['user-a', sealed]]);
    const { rekey, events } = service(rows, { MFA_PREVIOUS_ENCRYPTION_KEYS: oldKey });
    await assert.rejects(rekey.rekeyAll(), { code: 'feature_disabled' });
    assert.equal(rows.get('user-a'), sealed);
    assert.deepEqual(events, []);
  });
});
