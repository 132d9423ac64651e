import { Injectable, Logger } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { keptKey } from '../common/keys/key-file';
import { AppConfig, encryptionKeyBytes } from '../config/app-config';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface EncryptionKey {
  id: string;
  key: Buffer;
}

/**
 * Encrypts second-factor secrets at rest with AES-256-GCM (node:crypto) under
 * MFA_ENCRYPTION_KEY, bound to what they belong to (the user id, as additional data: a
 * ciphertext copied to another row does not open). A sealed value names its key by id, so
 * earlier keys (MFA_PREVIOUS_ENCRYPTION_KEYS) still open what they sealed until `mfa-rekey`
 * seals it again under the current key.
 *
 * Without MFA_ENCRYPTION_KEY (refused in production while MFA is on): under NODE_ENV=test or
 * MFA_ENABLED=false a random key per app; in development one generated once and kept in
 * MFA_ENCRYPTION_KEY_FILE (mode 0600), so enrolled authenticators survive a restart.
 */
@Injectable()
export class MfaSecretBox {
  private readonly logger = new Logger(MfaSecretBox.name);
  private readonly current: EncryptionKey;
  private readonly byId = new Map<string, EncryptionKey>();

  constructor(config: AppConfig) {
    this.current = entry(config.mfa.encryptionKey ?? this.implicitKey(config));
    for (const key of [this.current.key, ...config.mfa.previousEncryptionKeys]) {
      const known = entry(key);
      if (!this.byId.has(known.id)) this.byId.set(known.id, known);
    }
  }

  /** `v1.<key id>.<iv>.<ciphertext>.<tag>`, base64url parts. */
  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.current.id, iv, ciphertext, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** The plaintext; throws when the key is unknown or the value was altered or moved. */
  open(sealed: string, boundTo: string): string {
    const [version, keyId, iv, ciphertext, tag, extra] = sealed.split('.');
    const key = keyId === undefined ? undefined : this.byId.get(keyId);
    if (version !== VERSION || key === undefined || tag === undefined || extra !== undefined) {
      throw new Error('MFA secret: unknown format or encryption key');
    }
    const ivBytes = Buffer.from(iv ?? '', 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    // Only the lengths seal() writes: GCM accepts a shortened tag and checks just its bytes.
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) {
      throw new Error('MFA secret: unknown format or encryption key');
    }
    const decipher = createDecipheriv('aes-256-gcm', key.key, ivBytes, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([
      decipher.update(Buffer.from(ciphertext ?? '', 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  }

  /** Whether `sealed` is under an earlier key (then `mfa-rekey` seals it again). */
  sealedUnderEarlierKey(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.id;
  }

  private implicitKey(config: AppConfig): Buffer {
    // MFA_ENABLED=false seals and opens nothing: no key to keep (and none to ask production for).
    if (config.env === 'test' || !config.mfa.enabled) return randomBytes(32);
    const file = config.mfa.keyFile;
    const { text, generated } = keptKey(file, () => randomBytes(32).toString('hex'));
    const key = encryptionKeyBytes(text);
    if (key === undefined) throw new Error(`${file}: the MFA encryption key in it is not 32 bytes`);
    this.logger.warn(
      generated
        ? `MFA_ENCRYPTION_KEY is not set: generated one and kept it in ${file} (mode 0600). ` +
            'Set MFA_ENCRYPTION_KEY in production.'
        : `MFA_ENCRYPTION_KEY is not set: using the development key in ${file}.`,
    );
    return key;
  }
}

function entry(key: Buffer): EncryptionKey {
  const id = createHash('sha256').update('mfa-encryption-key:').update(key).digest('hex');
  return { id: id.slice(0, 16), key };
}
