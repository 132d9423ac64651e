import { existsSync } from 'node:fs';
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core';

/** Debian's Chromium, which CI installs (.ci/run). */
export const CHROMIUM = '/usr/bin/chromium';

/** A describe's `skip` when Chromium is not installed. */
export const WITHOUT_CHROMIUM: false | string = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed`;

/** Headless Chromium as the browser tests run it (no sandbox, no GPU, no background traffic). */
export function launchChromium(timeoutMs = 30_000): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: timeoutMs,
  });
}

/**
 * Gives `page` a virtual platform authenticator (CDP's WebAuthn domain): resident keys and user
 * verification, as a phone's or laptop's built-in one.
 */
export async function addVirtualAuthenticator(
  page: Page,
): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  return { cdp, authenticatorId };
}
