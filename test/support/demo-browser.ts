/**
 * The fixture of a browser test on the demo topology: the demo (embedded IdP,
 * sample upstreams, the gateway) and real Chromium, started before the file's
 * tests and closed after them.
 */
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import { startDemo, type Demo, type DemoOptions } from '../../src/demo/index.js';
import { launchChromium } from './chromium.js';

export interface DemoInBrowser {
  readonly demo: Demo;
  readonly browser: Browser;
}

/** Call at the top of a test file; read `demo` and `browser` inside the tests. */
export function demoInBrowser(
  options: DemoOptions = { port: 0 },
  chromiumArgs: string[] = [],
): DemoInBrowser {
  let demo: Demo | undefined;
  let browser: Browser | undefined;
  before(async () => {
    [demo, browser] = await Promise.all([startDemo(options), launchChromium(chromiumArgs)]);
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });
  return {
    get demo() {
      if (!demo) throw new Error('the demo is not started yet (read it inside a test)');
      return demo;
    },
    get browser() {
      if (!browser) throw new Error('Chromium is not started yet (read it inside a test)');
      return browser;
    },
  };
}
