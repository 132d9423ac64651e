import { Injectable } from '@nestjs/common';
import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
  type VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { SecondFactorNotices } from '../mails/second-factor-notices';
import { RecoveryCodes } from '../recovery-codes/recovery-codes';
import { SecondFactors } from '../second-factors';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { DomainError } from '../../common/errors/domain-error';
import { uniqueViolation } from '../../common/errors/unique-violation';
import type { RequestContext } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { Transactions } from '../../database/database';
import { MfaChallenges } from '../challenges/mfa-challenges';
import { Reauthentication } from '../reauthentication';
import { type PasskeyRow, PasskeysRepository } from './passkeys.repository';
import {
  assertPasskeysEnabled,
  ceremonyTimeout,
  isCredentialResponse,
  webauthnUserId,
} from './relying-party';

export const PASSKEY_NOT_FOUND_MESSAGE = 'No such passkey';
export const PASSKEY_REJECTED_MESSAGE =
  'The passkey response could not be verified: start again with new options';
export const PASSKEY_DUPLICATE_MESSAGE = 'This passkey is already registered';

/**
 * A user's passkeys: registration (options, then the attestation the browser returns, verified
 * by @simplewebauthn/server), list, rename and removal. Registration and removal need
 * re-authentication (SPEC §8); a passkey of another user is "not found", never "forbidden".
 */
@Injectable()
export class Passkeys {
  constructor(
    private readonly repository: PasskeysRepository,
    private readonly challenges: MfaChallenges,
    private readonly reauthentication: Reauthentication,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly notices: SecondFactorNotices,
    private readonly factors: SecondFactors,
    private readonly recoveryCodes: RecoveryCodes,
  ) {}

  list(userId: string): Promise<PasskeyRow[]> {
    assertPasskeysEnabled(this.config);
    return this.repository.listByUser(userId);
  }

  /**
   * Options for navigator.credentials.create(): a discoverable credential (residentKey
   * required, so it can sign in without a username) with user verification required (a passkey
   * alone signs in), none of the user's registered authenticators again (excludeCredentials).
   */
  async registrationOptions(
    user: AuthenticatedUser,
    currentPassword: string | undefined,
    context: RequestContext,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    assertPasskeysEnabled(this.config);
    await this.reauthentication.confirm(user, currentPassword, context);
    const existing = await this.repository.listByUser(user.id);
    const options = await generateRegistrationOptions({
      rpName: this.config.webauthn.rpName,
      rpID: this.config.webauthn.rpId,
      userID: webauthnUserId(user.id),
      userName: user.username,
      userDisplayName: user.username,
      timeout: ceremonyTimeout(this.config),
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({
        id: passkey.credentialId,
        transports: passkey.transports,
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    await this.challenges.issueWebauthn('passkey_registration', user.id, options.challenge);
    return options;
  }

  /**
   * Verifies the browser's attestation against a registration challenge this user was issued
   * (spent here: once, whatever the outcome) and stores the passkey.
   */
  async register(
    user: AuthenticatedUser,
    response: RegistrationResponseJSON,
    name: string | undefined,
    context: RequestContext,
  ): Promise<PasskeyRow> {
    assertPasskeysEnabled(this.config);
    if (!isCredentialResponse(response)) {
      throw new DomainError('passkey_rejected', PASSKEY_REJECTED_MESSAGE);
    }
    let verification: VerifiedRegistrationResponse;
    try {
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: async (challenge) => {
          const spent = await this.challenges.spendWebauthn('passkey_registration', challenge);
          return spent !== null && spent.userId === user.id;
        },
        expectedOrigin: this.config.webauthn.origins,
        expectedRPID: this.config.webauthn.rpId,
        requireUserVerification: true,
      });
    } catch {
      throw new DomainError('passkey_rejected', PASSKEY_REJECTED_MESSAGE);
    }
    if (!verification.verified) {
      throw new DomainError('passkey_rejected', PASSKEY_REJECTED_MESSAGE);
    }
    const info = verification.registrationInfo;
    const passkey: PasskeyRow = {
      id: randomUUID(),
      userId: user.id,
      credentialId: info.credential.id,
      publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
      signCount: info.credential.counter,
      transports: (info.credential.transports ?? response.response.transports ?? []).slice(0, 8),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
      name: name ?? defaultName(info.credentialDeviceType),
      createdAt: this.clock.now(),
      lastUsedAt: null,
    };
    try {
      await this.transactions.run(async (tx) => {
        await this.repository.insert({ ...passkey, now: passkey.createdAt }, tx);
        await this.notices.factorAdded(tx, user.account.user, 'passkey');
        await this.audit.record(
          tx,
          {
            type: 'mfa.passkey_added',
            actorId: user.id,
            subjectUserId: user.id,
            details: {
              passkeyId: passkey.id,
              name: passkey.name,
              deviceType: passkey.deviceType,
              aaguid: passkey.aaguid,
            },
          },
          context,
        );
      });
    } catch (error) {
      if (uniqueViolation(error) !== undefined) {
        throw new DomainError('conflict', PASSKEY_DUPLICATE_MESSAGE);
      }
      throw error;
    }
    return passkey;
  }

  async rename(
    user: AuthenticatedUser,
    id: string,
    name: string,
    context: RequestContext,
  ): Promise<PasskeyRow> {
    assertPasskeysEnabled(this.config);
    await this.transactions.run(async (tx) => {
      if (!(await this.repository.rename(tx, id, user.id, name))) {
        throw new DomainError('passkey_not_found', PASSKEY_NOT_FOUND_MESSAGE);
      }
      await this.audit.record(
        tx,
        {
          type: 'mfa.passkey_renamed',
          actorId: user.id,
          subjectUserId: user.id,
          details: { passkeyId: id, name },
        },
        context,
      );
    });
    const renamed = (await this.repository.listByUser(user.id)).find((row) => row.id === id);
    if (renamed === undefined)
      throw new DomainError('passkey_not_found', PASSKEY_NOT_FOUND_MESSAGE);
    return renamed;
  }

  async remove(
    user: AuthenticatedUser,
    id: string,
    currentPassword: string | undefined,
    context: RequestContext,
  ): Promise<void> {
    assertPasskeysEnabled(this.config);
    // Before the re-authentication: an unknown id answers 404 without costing a password check.
    const owned = (await this.repository.listByUser(user.id)).find((row) => row.id === id);
    if (owned === undefined) throw new DomainError('passkey_not_found', PASSKEY_NOT_FOUND_MESSAGE);
    await this.reauthentication.confirm(user, currentPassword, context);
    await this.transactions.run(async (tx) => {
      if (!(await this.repository.delete(tx, id, user.id))) {
        throw new DomainError('passkey_not_found', PASSKEY_NOT_FOUND_MESSAGE);
      }
      // With no second factor left the recovery codes go too: they would recover nothing.
      const othersLeft = (await this.factors.methodsOf(user.id, tx)).length > 0;
      const recoveryCodesDeleted = othersLeft ? 0 : await this.recoveryCodes.deleteAll(tx, user.id);
      await this.notices.factorRemoved(tx, user.account.user, 'passkey', othersLeft);
      await this.audit.record(
        tx,
        {
          type: 'mfa.passkey_removed',
          actorId: user.id,
          subjectUserId: user.id,
          details: { passkeyId: id, name: owned.name, recoveryCodesDeleted },
        },
        context,
      );
    });
  }
}

function defaultName(deviceType: PasskeyRow['deviceType']): string {
  return deviceType === 'multiDevice' ? 'Synced passkey' : 'Security key';
}
