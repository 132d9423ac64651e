import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/errors/domain-error';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { Transactions } from '../database/database';
import { MfaSecretBox } from './mfa-secret-box';
import { TotpRepository } from './totp/totp.repository';

export interface RekeyOutcome {
  /** Sealed again under the current MFA_ENCRYPTION_KEY. */
  rekeyed: number;
  /** Already under the current key. */
  current: number;
  /** Changed while this ran (a new enrolment, a removal): sealed under the current key anyway. */
  changed: number;
  /** Under a key that is neither MFA_ENCRYPTION_KEY nor in MFA_PREVIOUS_ENCRYPTION_KEYS. */
  unreadable: string[];
}

/**
 * Key rotation of the TOTP secrets at rest (`npm run cli -- mfa-rekey`): every secret sealed
 * under an earlier key (MFA_PREVIOUS_ENCRYPTION_KEYS) is opened and sealed again under the
 * current MFA_ENCRYPTION_KEY, row by row with a compare-and-set, so it is safe while the service
 * runs. Afterwards the earlier keys can be dropped (docs/decisions.md, "Second-factor secrets
 * at rest").
 */
@Injectable()
export class MfaRekeyService {
  constructor(
    private readonly repository: TotpRepository,
    private readonly box: MfaSecretBox,
    private readonly audit: AuditService,
    private readonly transactions: Transactions,
    private readonly config: AppConfig,
  ) {}

  async rekeyAll(): Promise<RekeyOutcome> {
    // Without a configured key the current one is generated: sealing under it could lose every
    // secret (a random key under MFA_ENABLED=false or NODE_ENV=test).
    if (this.config.mfa.encryptionKey === undefined) {
      throw new DomainError(
        'feature_disabled',
        'mfa-rekey seals under MFA_ENCRYPTION_KEY: set it (and the old key in MFA_PREVIOUS_ENCRYPTION_KEYS)',
      );
    }
    const outcome: RekeyOutcome = { rekeyed: 0, current: 0, changed: 0, unreadable: [] };
    for (const { userId, secretCiphertext } of await this.repository.listSealed()) {
      if (!this.box.sealedUnderEarlierKey(secretCiphertext)) {
        outcome.current += 1;
        continue;
      }
      let secret: string;
      try {
        secret = this.box.open(secretCiphertext, userId);
      } catch {
        outcome.unreadable.push(userId);
        continue;
      }
      const resealed = this.box.seal(secret, userId);
      if (await this.repository.reseal(userId, secretCiphertext, resealed)) outcome.rekeyed += 1;
      else outcome.changed += 1;
    }
    await this.transactions.run((tx) =>
      this.audit.record(
        tx,
        {
          type: 'mfa.secrets_rekeyed',
          actorId: null,
          subjectUserId: null,
          details: {
            rekeyed: outcome.rekeyed,
            current: outcome.current,
            changed: outcome.changed,
            unreadable: outcome.unreadable.length,
          },
        },
        NO_REQUEST_CONTEXT,
      ),
    );
    return outcome;
  }
}
