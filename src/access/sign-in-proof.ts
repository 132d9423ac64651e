/**
 * How a user proved who they are when a session starts or steps up: the RFC 8176 `amr` values
 * (`pwd` password, `otp` TOTP, `hwk`/`swk` passkey, `mfa` more than one factor) and when a
 * second factor was last proven. The session keeps it; its access tokens carry it.
 */
export interface SignInProof {
  amr: string[];
  mfaAt: Date | null;
}

/** A password alone. */
export const PASSWORD_ONLY: SignInProof = { amr: ['pwd'], mfaAt: null };

/** Whether a second factor proven at `mfaAt` is at most `maxAgeSeconds` old at `now`. */
export function secondFactorWithin(mfaAt: Date | null, now: Date, maxAgeSeconds: number): boolean {
  return mfaAt !== null && now.getTime() - mfaAt.getTime() <= maxAgeSeconds * 1000;
}
