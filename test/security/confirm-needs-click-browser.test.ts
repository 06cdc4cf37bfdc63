/**
 * A script that holds a valid confirmation form — however it got it — still
 * cannot confirm: the gateway takes a confirmation only from a navigation the
 * person caused with a click (`Sec-Fetch-User: ?1`, which Chromium sends only
 * with user activation). Real Chromium, a path-form app on the gateway's origin.
 *
 * The test hands the script Alice's real form (read out of the page the
 * gateway showed her in another tab), so that the click is the only thing
 * missing; then Alice's own click on that page confirms, with the same form.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Page, Response } from 'playwright-core';
import { s256 } from '../../src/authn/terminal/protocol.js';
import { APP, DEVICE_GRANT, startAppOnGateway, type AppOnGateway } from './support/app-on-gateway.js';

let world: AppOnGateway;
before(async () => void (world = await startAppOnGateway()), { timeout: 60_000 });
after(() => world?.close());

/** The hidden fields of the confirmation form a page shows. */
async function formFields(page: Page): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  for (const input of await page.locator('form[method=post] input[type=hidden]').all())
    fields[(await input.getAttribute('name'))!] = (await input.getAttribute('value'))!;
  return fields;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * Mallory's page: Alice's form, pressed by the page's own script as soon as it
 * loads. The script sets the action: the gateway would prefix one written in
 * the app's HTML with the app's path.
 */
function forgedPage(action: string, fields: Record<string, string>, how: 'submit' | 'click'): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`)
    .join('');
  const press =
    how === 'submit'
      ? "form.append(Object.assign(document.createElement('input'), { type: 'hidden', name: 'decision', value: 'allow' })); form.submit();"
      : "form.querySelector('button').click();";
  return `<form method="post">${inputs}<button name="decision" value="allow">Confirm</button></form><script>const form = document.forms[0]; form.action = ${JSON.stringify(action)}; ${press}</script>`;
}

/**
 * Opens the forged page in Alice's tab and returns the answer to its POST.
 * Nothing is evaluated in that tab first: it would give the script a click.
 */
async function pressedByScript(page: Page, html: string, how: string): Promise<Response> {
  world.pages.set(`/forge-${how}`, { html });
  const [posted] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.goto(`${world.base}${APP}/forge-${how}`),
  ]);
  return posted;
}

test('device flow: a script holding Alice’s form cannot confirm it, by form.submit() or a synthetic click; Alice’s click can', async () => {
  const started = await world.terminalPost('/auth/cli/device', { client_name: 'mallory-laptop' });
  const code = String(started.body.user_code);
  const poll = () =>
    world.terminalPost('/auth/cli/token', {
      grant_type: DEVICE_GRANT,
      device_code: String(started.body.device_code),
    });
  const { ctx, page } = await world.signedIn('alice');
  const gatewayTab = await ctx.newPage();
  await gatewayTab.goto(`${world.base}/auth/device?user_code=${code}`);
  const fields = await formFields(gatewayTab);
  assert.ok(fields.form_token, 'the page Alice opened herself carries the form');

  for (const how of ['submit', 'click'] as const) {
    const answer = await pressedByScript(page, forgedPage('/auth/device', fields, how), how);
    assert.equal(answer.status(), 403, how);
    assert.match(await answer.text(), /press the button yourself/, how);
  }
  // One poll: the terminal is paced (a second one this soon would be told to slow down).
  assert.equal((await poll()).body.error, 'authorization_pending', 'the terminal was signed in');

  await gatewayTab.getByRole('button', { name: 'Confirm' }).click();
  await gatewayTab.waitForSelector('text=Device signed in');
  await ctx.close();
  const tokens = await poll();
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal((tokens.body.identity as { username: string }).username, 'alice@example.com');
});

test('loopback flow: a script holding Alice’s form gets no code, whichever way it presses Continue', async () => {
  const q = new URLSearchParams({
    port: '43219',
    code_challenge: s256(randomBytes(32).toString('base64url')),
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
  });
  const { ctx, page } = await world.signedIn('alice');
  const gatewayTab = await ctx.newPage();
  await gatewayTab.goto(`${world.base}/auth/cli/authorize?${q.toString()}`);
  const fields = await formFields(gatewayTab);
  assert.ok(fields.form_token, 'the page Alice opened herself carries the form');

  for (const how of ['submit', 'click'] as const) {
    const answer = await pressedByScript(page, forgedPage('/auth/cli/authorize', fields, how), how);
    assert.equal(answer.status(), 403, how);
    assert.equal(await answer.headerValue('location'), null, `${how}: a code went to the loopback port`);
    assert.match(await answer.text(), /press the button yourself/, how);
  }
  await ctx.close();
});
