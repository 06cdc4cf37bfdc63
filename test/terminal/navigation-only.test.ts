/**
 * The confirmation pages answer only a browser tab's own navigation, and take
 * a confirmation only from a click (Fetch Metadata): the rule as a table, then
 * over HTTP against both flows as a signed-in person's browser, a script on
 * the gateway's origin, a frame and a client that sends no Sec-Fetch-* at all
 * (curl, a browser too old to send them) would ask.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isWebKit, navigationRefusal } from '../../src/authn/terminal/navigation-only.js';
import { FetchBrowser, NAVIGATION_HEADERS } from '../support/fetch-browser.js';
import { hiddenFields, loopbackAttempt, postForm, startWorld, type World } from './world.js';

const TAB = NAVIGATION_HEADERS;
const FETCH = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };
const FRAME = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' };
const SCRIPT_SUBMIT = {
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};

const UA = {
  chrome:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  headless:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  safari:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  iosChrome:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
};

test('WebKit, which never sends Sec-Fetch-User, is told apart by its User-Agent', () => {
  for (const [name, ua] of Object.entries(UA))
    assert.equal(isWebKit(ua), name === 'safari' || name === 'iosChrome', name);
  assert.equal(isWebKit(undefined), false);
  const safari = { 'user-agent': UA.safari };
  assert.equal(navigationRefusal({ ...SCRIPT_SUBMIT, ...safari }, 'press'), undefined, 'Safari’s click');
  assert.equal(navigationRefusal({ ...FETCH, ...safari }, 'view'), 'not-a-tab', 'Safari’s fetch()');
  assert.equal(navigationRefusal(safari, 'press'), 'no-metadata', 'Safari before 16.4');
  for (const ua of [UA.chrome, UA.headless, UA.edge, UA.firefox])
    assert.equal(navigationRefusal({ ...SCRIPT_SUBMIT, 'user-agent': ua }, 'press'), 'no-click', ua);
});

test('the rule: a tab’s own navigation may see a page; pressing its buttons takes a click too', () => {
  const cases: [string, Record<string, string>, 'view' | 'press', string | undefined][] = [
    ['a link or the address bar', TAB, 'view', undefined],
    ['a script opening a window', SCRIPT_SUBMIT, 'view', undefined],
    ['a click on a button', { ...TAB, 'sec-fetch-site': 'same-origin' }, 'press', undefined],
    ['fetch() or XHR', FETCH, 'view', 'not-a-tab'],
    ['fetch(), no-cors', { ...FETCH, 'sec-fetch-mode': 'no-cors' }, 'view', 'not-a-tab'],
    ['fetch() with mode same-origin', { ...FETCH, 'sec-fetch-mode': 'same-origin' }, 'press', 'not-a-tab'],
    ['a frame', FRAME, 'view', 'not-a-tab'],
    ['a frame, clicked', { ...FRAME, 'sec-fetch-user': '?1' }, 'press', 'not-a-tab'],
    ['form.submit() or a synthetic click', SCRIPT_SUBMIT, 'press', 'no-click'],
    ['Sec-Fetch-User: ?0', { ...SCRIPT_SUBMIT, 'sec-fetch-user': '?0' }, 'press', 'no-click'],
    [
      'a repeated header (joined by node)',
      { ...TAB, 'sec-fetch-mode': 'navigate, navigate' },
      'view',
      'not-a-tab',
    ],
    ['no Sec-Fetch-* (curl, an old browser)', {}, 'view', 'no-metadata'],
    ['no Sec-Fetch-*, pressing', {}, 'press', 'no-metadata'],
    ['only Sec-Fetch-Site', { 'sec-fetch-site': 'same-origin' }, 'press', 'not-a-tab'],
  ];
  for (const [why, headers, step, expected] of cases)
    assert.equal(navigationRefusal(headers, step), expected, why);
});

let world: World;
let alice: FetchBrowser;

before(async () => {
  world = await startWorld();
  alice = new FetchBrowser();
  await alice.signIn(`${world.publicURL}/`, 'alice');
});

after(() => world?.close());

const deviceStart = () => postForm(`${world.publicURL}/auth/cli/device`, { client_name: 'build-box' });
const poll = (deviceCode: string) =>
  postForm(`${world.publicURL}/auth/cli/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: deviceCode,
  });

/** GET as Alice's browser with these Sec-Fetch-* headers (none: `navigation: false` and nothing added). */
const view = (url: string, headers: Record<string, string>) =>
  alice.request(url, { navigation: false, headers });
const press = (url: string, fields: Record<string, string>, headers: Record<string, string>) =>
  alice.request(url, {
    navigation: false,
    method: 'POST',
    body: new URLSearchParams({ ...fields, decision: 'allow' }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: world.publicURL, ...headers },
  });

async function assertRefused(res: Response, says: RegExp, why: string) {
  const html = await res.text();
  assert.equal(res.status, 403, why);
  assert.equal(res.headers.get('location'), null, why);
  assert.doesNotMatch(html, /form_token/, why);
  assert.match(html, says, why);
}

test('without any Sec-Fetch-* header neither page is shown nor pressed: the answer says a current browser is needed', async () => {
  const grant = (await deviceStart()).body;
  const attempt = loopbackAttempt(world.publicURL);
  const pages = {
    device: `${world.publicURL}/auth/device?user_code=${String(grant.user_code)}`,
    loopback: attempt.url,
  };
  for (const [name, url] of Object.entries(pages)) {
    const res = await view(url, {});
    await assertRefused(res, /needs a current browser/, name);
    assert.match(await (await view(url, {})).text(), /over https/, name);
  }
  // The same forms, taken from pages shown to a tab, pressed without metadata.
  const device = hiddenFields(await (await alice.get(pages.device)).text());
  const loopback = hiddenFields(await (await alice.get(pages.loopback)).text());
  await assertRefused(
    await press(`${world.publicURL}/auth/device`, device, {}),
    /current browser/,
    'device POST',
  );
  await assertRefused(
    await press(`${world.publicURL}/auth/cli/authorize`, loopback, {}),
    /current browser/,
    'loopback POST',
  );
  assert.equal((await poll(String(grant.device_code))).body.error, 'authorization_pending');
});

test('a fetch() or a frame gets no page; a navigation without a click presses nothing; the tab and the click do', async () => {
  const grant = (await deviceStart()).body;
  const page = `${world.publicURL}/auth/device?user_code=${String(grant.user_code)}`;
  await assertRefused(await view(page, FETCH), /Open this page in a browser tab/, 'fetch');
  await assertRefused(await view(page, FRAME), /Open this page in a browser tab/, 'frame');

  const shown = await view(page, TAB);
  assert.equal(shown.status, 200);
  assert.equal(shown.headers.get('cross-origin-opener-policy'), 'same-origin', 'no opener keeps a handle');
  const fields = hiddenFields(await shown.text());
  const action = `${world.publicURL}/auth/device`;
  await assertRefused(await press(action, fields, SCRIPT_SUBMIT), /press the button yourself/, 'no click');
  await assertRefused(
    await press(action, fields, { ...FETCH, 'sec-fetch-mode': 'same-origin' }),
    /browser tab/,
    'fetch POST',
  );
  assert.equal((await poll(String(grant.device_code))).body.error, 'authorization_pending');

  const clicked = await press(action, fields, { ...TAB, 'sec-fetch-site': 'same-origin' });
  assert.equal(clicked.status, 200);
  const tokens = await poll(String(grant.device_code));
  assert.equal((tokens.body.identity as { username: string }).username, 'alice@example.com');
});

test('the loopback page: a fetch() gets no page; a navigation without a click gets no code; the click does', async () => {
  const attempt = loopbackAttempt(world.publicURL, 43_290);
  await assertRefused(await view(attempt.url, FETCH), /Open this page in a browser tab/, 'fetch');
  const shown = await view(attempt.url, TAB);
  assert.equal(shown.status, 200);
  assert.equal(shown.headers.get('cross-origin-opener-policy'), 'same-origin');
  const fields = hiddenFields(await shown.text());
  const action = `${world.publicURL}/auth/cli/authorize`;
  await assertRefused(await press(action, fields, SCRIPT_SUBMIT), /press the button yourself/, 'no click');
  const clicked = await press(action, fields, TAB);
  assert.equal(clicked.status, 303);
  assert.match(clicked.headers.get('location') ?? '', /^http:\/\/127\.0\.0\.1:43290\/callback\?code=/);
});

test('in Safari (no Sec-Fetch-User ever) the person’s Confirm is taken; its fetch() still gets no page', async () => {
  const grant = (await deviceStart()).body;
  const page = `${world.publicURL}/auth/device?user_code=${String(grant.user_code)}`;
  const safari = { 'user-agent': UA.safari };
  await assertRefused(await view(page, { ...FETCH, ...safari }), /browser tab/, 'fetch');
  const shown = await view(page, { ...SCRIPT_SUBMIT, 'sec-fetch-site': 'none', ...safari });
  assert.equal(shown.status, 200);
  const fields = hiddenFields(await shown.text());
  const clicked = await press(`${world.publicURL}/auth/device`, fields, { ...SCRIPT_SUBMIT, ...safari });
  assert.equal(clicked.status, 200);
  const tokens = await poll(String(grant.device_code));
  assert.equal((tokens.body.identity as { username: string }).username, 'alice@example.com');
});
