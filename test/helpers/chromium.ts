import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

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
