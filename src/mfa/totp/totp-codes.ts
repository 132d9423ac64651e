import { generateSecret, generateURI, verify } from 'otplib';
import { toDataURL } from 'qrcode';

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;

/** A new shared secret (160 random bits, base32) and what an authenticator app scans. */
export async function newTotpSecret(
  issuer: string,
  label: string,
): Promise<{ secret: string; otpauthUri: string; qrCode: string }> {
  const secret = generateSecret();
  const otpauthUri = generateURI({ issuer, label, secret });
  // A PNG data URL: an <img src> on any client, no script or stylesheet needed.
  const qrCode = await toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 2, scale: 5 });
  return { secret, otpauthUri, qrCode };
}

/**
 * The time step `code` belongs to if it is right at `nowSeconds` within one step of drift
 * either way and later than `afterStep` (a code works once); otherwise null.
 */
export async function acceptedStep(
  secret: string,
  code: string,
  nowSeconds: number,
  afterStep: number | null,
): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  // A used step past this clock's window (another instance's clock a little ahead, or this one
  // stepped back) leaves no code to accept; otplib would throw for it.
  const latestStep = Math.floor((nowSeconds + TOTP_PERIOD_SECONDS) / TOTP_PERIOD_SECONDS);
  if (afterStep !== null && afterStep >= latestStep) return null;
  const result = await verify({
    secret,
    token: code,
    epoch: nowSeconds,
    epochTolerance: TOTP_PERIOD_SECONDS,
    ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
  });
  if (!result.valid || !('timeStep' in result)) return null;
  return result.timeStep;
}
