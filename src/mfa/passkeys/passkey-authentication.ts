import { Injectable } from '@nestjs/common';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import type { SignInProof } from '../../access/sign-in-proof';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { DomainError } from '../../common/errors/domain-error';
import type { RequestContext } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { Transactions } from '../../database/database';
import { INVALID_CREDENTIALS_MESSAGE } from '../../users/password-check.service';
import { UsersService, type UserWithRoles } from '../../users/users.service';
import {
  INVALID_MFA_TOKEN_MESSAGE,
  MfaChallenges,
  type MfaChallengeRow,
} from '../challenges/mfa-challenges';
import { type PasskeyRow, PasskeysRepository } from './passkeys.repository';
import {
  assertPasskeysEnabled,
  ceremonyTimeout,
  isCredentialResponse,
  passkeyAmr,
  signedChallenge,
  toWebAuthnCredential,
  webauthnUserId,
} from './relying-party';

/** Why a passkey sign-in was refused, as its `auth.passkey_login_failed` event says. */
export type PasskeyLoginFailure =
  | 'malformed_response'
  | 'unknown_challenge'
  | 'unknown_credential'
  | 'user_handle_mismatch'
  | 'verification_failed'
  | 'counter_not_increased'
  | 'inactive_account';

/** A usernameless sign-in that passed: the account and how it proved itself. */
export interface PasskeySignIn {
  account: UserWithRoles;
  proof: SignInProof;
  passkeyId: string;
}

/**
 * Assertions of passkeys (navigator.credentials.get()): usernameless sign-in, a passkey as the
 * second factor after a password, and step-up. Every assertion answers a challenge spent once
 * and must move the credential's signature counter forward (or keep it at 0, for authenticators
 * without one); @simplewebauthn/server checks the signature, origin, RP id and flags.
 */
@Injectable()
export class PasskeyAuthentication {
  constructor(
    private readonly repository: PasskeysRepository,
    private readonly challenges: MfaChallenges,
    private readonly users: UsersService,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /**
   * Options for a usernameless sign-in: no allowCredentials (the authenticator offers its
   * discoverable credentials for this RP) and user verification required, since the passkey
   * is then the only factor.
   */
  async signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    assertPasskeysEnabled(this.config);
    const options = await generateAuthenticationOptions({
      rpID: this.config.webauthn.rpId,
      userVerification: 'required',
      timeout: ceremonyTimeout(this.config),
    });
    await this.challenges.issueWebauthn('passkey_login', null, options.challenge);
    return options;
  }

  /**
   * A usernameless sign-in: the challenge the assertion signed is spent (whatever follows),
   * then the credential, its user handle, the signature with user verification and
   * the counter are checked, and the account must be active. Every refusal is the same
   * `invalid_credentials` and an `auth.passkey_login_failed` event with the reason.
   */
  async signIn(response: unknown, context: RequestContext): Promise<PasskeySignIn> {
    assertPasskeysEnabled(this.config);
    const refuse = async (reason: PasskeyLoginFailure, passkey?: PasskeyRow): Promise<never> => {
      await this.transactions.run((tx) =>
        this.audit.record(
          tx,
          {
            type: 'auth.passkey_login_failed',
            actorId: null,
            subjectUserId: passkey?.userId ?? null,
            details: { reason, ...(passkey === undefined ? {} : { passkeyId: passkey.id }) },
          },
          context,
        ),
      );
      throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    };
    if (!isCredentialResponse(response)) return refuse('malformed_response');
    const assertion = response as unknown as AuthenticationResponseJSON;
    const challenge = signedChallenge(assertion);
    if (challenge === null) return refuse('malformed_response');
    const passkey = await this.repository.findByCredentialId(assertion.id);
    if ((await this.challenges.spendWebauthn('passkey_login', challenge)) === null) {
      return refuse('unknown_challenge', passkey ?? undefined);
    }
    if (passkey === null) return refuse('unknown_credential');
    const userHandle = assertion.response.userHandle;
    if (
      userHandle !== undefined &&
      userHandle !== isoBase64URL.fromBuffer(webauthnUserId(passkey.userId))
    ) {
      return refuse('user_handle_mismatch', passkey);
    }
    const verified = await this.verifyAssertion(passkey, assertion, challenge, true);
    if (verified === null) return refuse('verification_failed', passkey);
    const account = await this.users.findWithRoles(passkey.userId);
    if (account === null || !account.user.isActive) return refuse('inactive_account', passkey);
    const now = this.clock.now();
    const counted = await this.transactions.run(async (tx) => {
      if (!(await this.repository.recordUse(passkey.id, { ...verified, now }, tx))) return false;
      await this.audit.record(
        tx,
        {
          type: 'auth.passkey_login_succeeded',
          actorId: passkey.userId,
          subjectUserId: passkey.userId,
          details: { passkeyId: passkey.id },
        },
        context,
      );
      return true;
    });
    if (!counted) return refuse('counter_not_increased', passkey);
    // User verification on the authenticator (PIN or biometric) plus possession of the key: a
    // second factor, so the session counts as having proven one now (step-up, re-auth).
    return {
      account,
      proof: { amr: [passkeyAmr(passkey), 'mfa'], mfaAt: now },
      passkeyId: passkey.id,
    };
  }

  /**
   * Options to prove a passkey as the second factor of a password login: the login's
   * `mfa_token` names the user; allowCredentials lists their passkeys, and the challenge is
   * attached to the login challenge (replacing an earlier one), answered through
   * {@link verifySecondFactor}.
   */
  async secondFactorOptions(mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    assertPasskeysEnabled(this.config);
    const login = await this.challenges.findByToken(mfaToken);
    if (login === null || login.userId === null) {
      throw new DomainError('invalid_mfa_token', INVALID_MFA_TOKEN_MESSAGE);
    }
    const options = await this.assertionOptions(login.userId);
    if (!(await this.challenges.attachWebauthn(login.id, options.challenge))) {
      throw new DomainError('invalid_mfa_token', INVALID_MFA_TOKEN_MESSAGE);
    }
    return options;
  }

  /**
   * Checks a passkey assertion as the second factor of the live login challenge `login` (as
   * MfaChallenges.findByToken returned it): the assertion must have signed the WebAuthn
   * challenge attached to it by {@link secondFactorOptions}, with a passkey of the login's user,
   * and move its counter forward. The proof: the login's first factor (`login.amr`), the
   * passkey's `hwk`/`swk`, and `mfa`; null when refused.
   *
   * It neither spends `login` nor audits: the caller (POST /auth/mfa/verify) spends it with
   * MfaChallenges.spend (issuing tokens only if that wins), or counts a failure with
   * MfaChallenges.fail, and writes mfa.verified / mfa.failed, as for a TOTP code.
   */
  async verifySecondFactor(login: MfaChallengeRow, response: unknown): Promise<SignInProof | null> {
    if (!this.config.mfa.enabled || login.purpose !== 'login') return null;
    if (login.userId === null || login.webauthnChallenge === null) return null;
    if (login.usedAt !== null || login.expiresAt <= this.clock.now()) return null;
    const passkey = await this.ownPasskey(login.userId, response, login.webauthnChallenge);
    if (passkey === null) return null;
    return {
      amr: [...new Set([...login.amr, passkeyAmr(passkey), 'mfa'])],
      mfaAt: this.clock.now(),
    };
  }

  /** Options for a step-up with a passkey of the signed-in user ({@link verifyStepUp}). */
  async stepUpOptions(userId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    assertPasskeysEnabled(this.config);
    const options = await this.assertionOptions(userId);
    await this.challenges.issueWebauthn('step_up', userId, options.challenge);
    return options;
  }

  /**
   * Checks a step-up assertion of user `userId`: it must answer a 'step_up' challenge issued to
   * this user (spent here, once), with one of their passkeys, its counter moving forward. The
   * proof holds this factor only (`hwk`/`swk`) and its time; the caller adds it to the
   * session's (`mfa` with the session's first factor). Null when refused.
   */
  async verifyStepUp(userId: string, response: unknown): Promise<SignInProof | null> {
    if (!this.config.mfa.enabled || !isCredentialResponse(response)) return null;
    const challenge = signedChallenge(response as unknown as AuthenticationResponseJSON);
    if (challenge === null) return null;
    const spent = await this.challenges.spendWebauthn('step_up', challenge);
    if (spent === null || spent.userId !== userId) return null;
    const passkey = await this.ownPasskey(userId, response, challenge);
    if (passkey === null) return null;
    return { amr: [passkeyAmr(passkey)], mfaAt: this.clock.now() };
  }

  /**
   * For a user who already proved a first factor: their passkeys in allowCredentials, and user
   * verification only preferred (possession is the factor asked for, as the library advises).
   */
  private async assertionOptions(userId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const passkeys = await this.repository.listByUser(userId);
    if (passkeys.length === 0) {
      throw new DomainError('mfa_not_enrolled', 'The account has no passkey');
    }
    return generateAuthenticationOptions({
      rpID: this.config.webauthn.rpId,
      allowCredentials: passkeys.map((passkey) => ({
        id: passkey.credentialId,
        transports: passkey.transports,
      })),
      userVerification: 'preferred',
      timeout: ceremonyTimeout(this.config),
    });
  }

  /** The passkey of `userId` that signed `expectedChallenge` in `response`, its use recorded. */
  private async ownPasskey(
    userId: string,
    response: unknown,
    expectedChallenge: string,
  ): Promise<PasskeyRow | null> {
    if (!isCredentialResponse(response)) return null;
    const assertion = response as unknown as AuthenticationResponseJSON;
    const passkey = await this.repository.findByCredentialId(assertion.id);
    if (passkey === null || passkey.userId !== userId) return null;
    const verified = await this.verifyAssertion(passkey, assertion, expectedChallenge, false);
    if (verified === null) return null;
    const counted = await this.repository.recordUse(passkey.id, {
      ...verified,
      now: this.clock.now(),
    });
    return counted ? passkey : null;
  }

  /**
   * The library's verification of one assertion; the counter it reports, or null. The stored
   * counter is handed to it as 0, so the counter rule is applied once, by the conditional
   * update of recordUse (which also holds when two assertions race).
   */
  private async verifyAssertion(
    passkey: PasskeyRow,
    response: AuthenticationResponseJSON,
    expectedChallenge: string,
    requireUserVerification: boolean,
  ): Promise<{ signCount: number; backedUp: boolean } | null> {
    try {
      const { verified, authenticationInfo } = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: this.config.webauthn.origins,
        expectedRPID: this.config.webauthn.rpId,
        credential: { ...toWebAuthnCredential(passkey), counter: 0 },
        requireUserVerification,
      });
      if (!verified) return null;
      return {
        signCount: authenticationInfo.newCounter,
        backedUp: authenticationInfo.credentialBackedUp,
      };
    } catch {
      return null;
    }
  }
}
