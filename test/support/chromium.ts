/**
 * Real Chromium for browser tests, shared by every suite that drives one (Debian's /usr/bin/chromium through
 * playwright-core; never a downloaded browser).
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const RESULTS_DIR = 'test-results';

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/** Where a screenshot goes (git-ignored; CI keeps the folder as an artifact). */
export function screenshotPath(name: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return `${RESULTS_DIR}/${name}.png`;
}
