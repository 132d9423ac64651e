import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { keptKey } from '../common/keys/key-file';
import { AppConfig } from '../config/app-config';
import { secretProblem } from '../config/secret-strength';
import { auditKeyId } from './audit-hash';

export interface AuditKey {
  id: string;
  key: Buffer;
}

/**
 * The audit chain's MAC keys: the current one (new events, checkpoints) and earlier ones
 * (AUDIT_PREVIOUS_KEYS), found by the key id stored with every event.
 *
 * Without AUDIT_KEY (refused in production): under NODE_ENV=test a random key per app; in
 * development one generated once and kept in AUDIT_KEY_FILE (mode 0600), so the chain still
 * verifies after a restart and from `npm run cli -- audit:verify`.
 */
@Injectable()
export class AuditKeyring {
  private readonly logger = new Logger(AuditKeyring.name);

  readonly current: AuditKey;

  private readonly byId = new Map<string, AuditKey>();

  constructor(config: AppConfig) {
    this.current = entry(config.audit.key ?? this.implicitKey(config));
    for (const key of [this.current.key, ...config.audit.previousKeys]) {
      const known = entry(key);
      if (!this.byId.has(known.id)) this.byId.set(known.id, known);
    }
  }

  /** The key an event or checkpoint names, if this process has it. */
  find(keyId: string): AuditKey | undefined {
    return this.byId.get(keyId);
  }

  private implicitKey(config: AppConfig): Buffer {
    if (config.env === 'test') return Buffer.from(randomBytes(32).toString('base64url'), 'utf8');
    const file = config.audit.keyFile;
    const { text, generated } = keptKey(file, () => randomBytes(32).toString('base64url'));
    if (secretProblem(file, text) !== undefined) {
      throw new Error(`${file}: the audit key in it is shorter than 32 bytes or not random`);
    }
    this.logger.warn(
      generated
        ? `AUDIT_KEY is not set: generated an audit key and kept it in ${file} (mode 0600). ` +
            'Anyone with that file can rewrite the audit chain: set AUDIT_KEY in production.'
        : `AUDIT_KEY is not set: using the development key in ${file}. Set AUDIT_KEY in production.`,
    );
    return Buffer.from(text, 'utf8');
  }
}

function entry(key: Buffer): AuditKey {
  return { id: auditKeyId(key), key };
}
