/**
 * A path-form app's script against the gateway's own confirmation pages, in
 * real Chromium against a real https gateway and the real IdP.
 *
 * Mallory runs an app (`team-a/evil`) that her colleague Alice may open in the
 * path form, on the gateway's own origin. On her own machine Mallory starts
 * `kube-bastion login --device` and puts the user code it printed into her
 * app's page. When Alice opens the page, its script reads the device
 * confirmation page with Alice's session (same origin: readable), takes the
 * form token and posts "Confirm" (same origin: the Origin check passes).
 * Mallory's terminal then holds a CLI token for Alice — a credential that
 * works from anywhere, for hours, on every service Alice may reach, long
 * after Alice left the page.
 *
 * What must hold: visiting an app never signs anybody's terminal in; only
 * Alice's own click on the gateway's page does. A script cannot read a
 * confirmation page (fetch: not a navigation), nor a window it opened on one
 * (Cross-Origin-Opener-Policy, which the app cannot match in the path form).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { s256 } from '../../src/authn/terminal/protocol.js';
import { APP, DEVICE_GRANT, startAppOnGateway, type AppOnGateway } from './support/app-on-gateway.js';

let world: AppOnGateway;
before(async () => void (world = await startAppOnGateway()), { timeout: 60_000 });
after(() => world?.close());

/** Mallory's terminal: `kube-bastion login --device`. */
async function mallorysDeviceLogin() {
  const started = await world.terminalPost('/auth/cli/device', { client_name: 'mallory-laptop' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  return { userCode: String(started.body.user_code), deviceCode: String(started.body.device_code) };
}

/** What Mallory's terminal hears when it polls; fails naming who it was signed in as. */
async function assertStillPending(deviceCode: string, what: string) {
  const polled = await world.terminalPost('/auth/cli/token', {
    grant_type: DEVICE_GRANT,
    device_code: deviceCode,
  });
  const identity = polled.body.identity as { username?: string } | undefined;
  assert.equal(
    polled.body.error,
    'authorization_pending',
    `${what} signed Mallory's terminal in as ${identity?.username ?? '?'} ` +
      `(token endpoint ${polled.status}, access_token ${polled.body.access_token ? 'issued' : 'absent'})`,
  );
}

/** Mallory's page: reads the confirmation page as the visitor, then confirms it as the visitor. */
const confirmScript = (code: string) => `
(async () => {
  const page = await fetch('/auth/device?user_code=' + encodeURIComponent(${JSON.stringify(code)})).then((r) => r.text());
  const field = (name) => (new RegExp('name="' + name + '" value="([^"]*)"').exec(page) || [])[1] || '';
  const body = new URLSearchParams({ user_code: field('user_code'), form_token: field('form_token'), decision: 'allow' });
  const r = await fetch('/auth/device', { method: 'POST', body });
  document.title = 'done ' + r.status;
})().catch((e) => { document.title = 'done ' + e; });`;

test("opening a path-form app never confirms a device sign-in: Mallory's terminal gets no token for Alice", async () => {
  const { userCode, deviceCode } = await mallorysDeviceLogin();
  world.pages.set('/', { html: `<p>Team dashboard</p><script>${confirmScript(userCode)}</script>` });

  // Alice signs in and opens Mallory's app, as she does every day.
  const ctx = await world.browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${world.base}${APP}/`);
  await page.waitForSelector('#login');
  await page.fill('#login', 'alice');
  await page.fill('#password', 'alice');
  await Promise.all([page.waitForURL(`${world.base}${APP}/`), page.click('#submit')]);
  assert.equal(await page.textContent('p'), 'Team dashboard');
  await page.waitForFunction("document.title.startsWith('done')");
  const scriptSaw = await page.title();
  await ctx.close();

  await assertStillPending(deviceCode, `the app's script (${scriptSaw})`);
});

/** Reads both confirmation pages with fetch(), as the visitor; writes what it got into #out. */
const readScript = (urls: Record<string, string>) => `
(async () => {
  const out = {};
  for (const [name, url] of Object.entries(${JSON.stringify(urls)})) {
    const r = await fetch(url);
    const html = await r.text();
    out[name] = { status: r.status, token: html.includes('form_token'), text: html.replace(/<[^>]*>/g, ' ').replace(/\\s+/g, ' ') };
  }
  document.getElementById('out').textContent = JSON.stringify(out);
  document.title = 'done';
})().catch((e) => { document.title = 'done ' + e; });`;

test('a same-origin fetch() of either confirmation page gets no form token, only the advice to open it in a tab', async () => {
  const { userCode, deviceCode } = await mallorysDeviceLogin();
  const loopback = new URLSearchParams({
    port: '43210',
    code_challenge: s256(randomBytes(32).toString('base64url')),
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
  });
  const urls = {
    device: `/auth/device?user_code=${userCode}`,
    loopback: `/auth/cli/authorize?${loopback.toString()}`,
  };
  world.pages.set('/read', { html: `<pre id="out"></pre><script>${readScript(urls)}</script>` });

  const { ctx, page } = await world.signedIn('alice');
  await page.goto(`${world.base}${APP}/read`);
  await page.waitForFunction("document.title.startsWith('done')");
  assert.equal(await page.title(), 'done');
  const seen = JSON.parse((await page.textContent('#out')) ?? '{}') as Record<
    string,
    { status: number; token: boolean; text: string }
  >;
  await ctx.close();

  for (const name of ['device', 'loopback']) {
    assert.equal(seen[name].token, false, `the ${name} page handed its form token to a script`);
    assert.equal(seen[name].status, 403, name);
    assert.match(seen[name].text, /Open this page in a browser tab/, name);
    assert.match(seen[name].text, /address bar/, name);
  }
  await assertStillPending(deviceCode, 'reading the pages');
});

/**
 * Mallory's page, the long way round: Alice's first click anywhere opens the
 * confirmation page in a popup, and the script reads the token out of it; her
 * next click posts a copy of the form from the app's own page (with her click
 * behind it). Its title says how far it got.
 */
const popupScript = (code: string) => `
let token;
const report = (what) => { document.title = what; };
document.getElementById('more').onclick = () => {
  if (token) {
    const form = document.createElement('form');
    form.method = 'post';
    form.action = '/auth/device';
    for (const [name, value] of Object.entries({ user_code: ${JSON.stringify(code)}, form_token: token, decision: 'allow' })) {
      const input = document.createElement('input');
      input.type = 'hidden'; input.name = name; input.value = value;
      form.append(input);
    }
    document.body.append(form);
    return form.submit();
  }
  const w = window.open('/auth/device?user_code=' + ${JSON.stringify(code)});
  const timer = setInterval(() => {
    try {
      if (w.closed) throw new Error('the window is out of reach');
      const value = w.document.querySelector('input[name=form_token]')?.value;
      if (!value) return;
      token = value;
      w.close();
      clearInterval(timer);
      report('armed');
    } catch (e) {
      clearInterval(timer);
      report('blocked: ' + e.message);
    }
  }, 20);
};`;

for (const appCOOP of [undefined, 'same-origin']) {
  const label = appCOOP ? `an app that sends Cross-Origin-Opener-Policy: ${appCOOP}` : 'an app';
  test(`${label} cannot read a confirmation page it opened in a popup, so Alice's clicks in it confirm nothing`, async () => {
    const { userCode, deviceCode } = await mallorysDeviceLogin();
    world.pages.set('/popup', {
      html: `<button id="more">Load more</button><script>${popupScript(userCode)}</script>`,
      headers: appCOOP ? { 'cross-origin-opener-policy': appCOOP } : {},
    });
    const { ctx, page } = await world.signedIn('alice');
    await page.goto(`${world.base}${APP}/popup`);
    await page.click('#more');
    await page.waitForFunction("document.title === 'armed' || document.title.startsWith('blocked')");
    const reached = await page.title();
    if (reached === 'armed') {
      // Alice clicks again in the app: the script posts the form it copied.
      await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('#more')]);
    }
    await ctx.close();
    await assertStillPending(deviceCode, `the popup attack (${reached})`);
    assert.match(reached, /^blocked/, 'the script read the form token out of the popup');
  });
}
