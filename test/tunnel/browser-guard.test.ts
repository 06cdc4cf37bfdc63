/**
 * What `kube-bastion connect` lets through its loopback listener, judged on
 * the local program's first bytes alone (src/client/connect/browser-guard.ts):
 * a web page's HTTP request is refused, the person's own tools and the page
 * the person opened at http://127.0.0.1:PORT/ pass, and every other protocol
 * passes as soon as its first bytes cannot start an HTTP request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HEAD_BYTES, judgeFirstBytes } from '../../src/client/connect/browser-guard.js';

const judge = (text: string | Buffer, ended = false) =>
  judgeFirstBytes(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, ended);

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';
/** A request head: the request line, then `name: value` lines, CRLF each, then the blank line. */
const head = (line: string, ...fields: string[]) => [line, ...fields, '', ''].join('\r\n');

/** Refused, and the line printed for the person names `evidence`. */
function assertRefused(text: string, evidence: string, why: string): void {
  const verdict = judge(text);
  assert.ok(typeof verdict === 'object', `${why}: ${JSON.stringify(verdict)}`);
  assert.equal(
    verdict.refuse,
    `refused a connection from a web browser (${evidence}): web pages may not use this tunnel`,
    why,
  );
}

test('the person’s own tools pass: no browser ever sent their request', () => {
  const cases: [string, string][] = [
    ['curl', head('GET /health HTTP/1.1', 'Host: 127.0.0.1:43081', 'User-Agent: curl/8.5.0', 'Accept: */*')],
    ['curl, a virtual host', head('GET / HTTP/1.1', 'Host: grafana.internal', 'User-Agent: curl/8.5.0')],
    [
      'curl, an address with a port as Host',
      head('GET / HTTP/1.1', 'Host: 10.0.0.5:8080', 'User-Agent: curl/8.5.0'),
    ],
    ['a bare HTTP/1.0 request', head('GET / HTTP/1.0')],
    [
      'wget',
      head('POST /api HTTP/1.1', 'Host: localhost:43081', 'User-Agent: Wget/1.21.4', 'Content-Length: 0'),
    ],
    // Only a browser configured to use a proxy sends these, and only to that proxy: no page can aim them here.
    [
      'a browser using a tunnelled proxy: CONNECT',
      head('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443', `User-Agent: ${CHROME}`),
    ],
    [
      'a browser using a tunnelled proxy: absolute form',
      head('GET http://grafana.internal/ HTTP/1.1', 'Host: grafana.internal', `User-Agent: ${CHROME}`),
    ],
  ];
  for (const [who, text] of cases) assert.equal(judge(text), 'pass', who);
});

test('the person’s browser at http://127.0.0.1:PORT/ (typed, and that page’s own requests) passes', () => {
  const cases: [string, string][] = [
    [
      'typed in the address bar',
      head(
        'GET / HTTP/1.1',
        'Host: 127.0.0.1:43081',
        `User-Agent: ${CHROME}`,
        'Sec-Fetch-Site: none',
        'Sec-Fetch-Mode: navigate',
        'Sec-Fetch-User: ?1',
      ),
    ],
    [
      'the page’s own fetch',
      head(
        'GET /api/items HTTP/1.1',
        'Host: 127.0.0.1:43081',
        `User-Agent: ${CHROME}`,
        'Sec-Fetch-Site: same-origin',
        'Sec-Fetch-Mode: cors',
      ),
    ],
    [
      'the page’s own POST',
      head(
        'POST /api/items HTTP/1.1',
        'Host: 127.0.0.1:43081',
        'Origin: http://127.0.0.1:43081',
        `User-Agent: ${CHROME}`,
        'Sec-Fetch-Site: same-origin',
        'Content-Length: 0',
      ),
    ],
    [
      'localhost',
      head(
        'POST / HTTP/1.1',
        'Host: localhost:43081',
        'Origin: http://localhost:43081',
        `User-Agent: ${CHROME}`,
      ),
    ],
    [
      'IPv6 loopback',
      head('POST / HTTP/1.1', 'Host: [::1]:43081', 'Origin: http://[::1]:43081', `User-Agent: ${CHROME}`),
    ],
    ['anywhere in 127/8, no port', head('GET / HTTP/1.1', 'Host: 127.8.9.10', `User-Agent: ${CHROME}`)],
    ['bare LF line ends', 'GET / HTTP/1.1\nHost: 127.0.0.1:43081\nUser-Agent: Mozilla/5.0\n\n'],
  ];
  for (const [who, text] of cases) assert.equal(judge(text), 'pass', who);
});

test('DNS rebinding: a Host that is not loopback is refused, whatever the page could set', () => {
  const rebound = 'Host: rebind.attacker.example:43081';
  const evidence = 'Host rebind.attacker.example:43081';
  assertRefused(
    head('GET /secrets HTTP/1.1', rebound, `User-Agent: ${CHROME}`, 'Accept: */*'),
    evidence,
    'Chrome',
  );
  // Firefox lets a page set its own User-Agent, and sends no Sec-Fetch-* to a plain-http name: a
  // name with this port in Host is all that is left, and a page cannot leave it out.
  assertRefused(
    head('GET /secrets HTTP/1.1', rebound, 'User-Agent: curl/8.5.0'),
    evidence,
    'Firefox, the User-Agent set',
  );
  assertRefused(head('GET /secrets HTTP/1.1', rebound), evidence, 'no User-Agent at all');
  // The price: `curl --resolve grafana.internal:43081:127.0.0.1 http://grafana.internal:43081/` looks
  // the same (docs/terminal.md: use `-H 'Host: grafana.internal'` or `--connect-to` instead).
  assertRefused(
    head('GET / HTTP/1.1', 'Host: grafana.internal:43081', 'User-Agent: curl/8.5.0'),
    'Host grafana.internal:43081',
    'curl --resolve',
  );
  for (const host of [
    '127.0.0.1.attacker.example:43081',
    'localhost.:43081',
    'app.localhost:43081',
    '127.1:43081',
    '127.000.0.1:43081',
    '[::2]:43081',
    '[::1',
    '127.0.0.1:',
  ]) {
    assertRefused(head('GET / HTTP/1.1', `Host: ${host}`, `User-Agent: ${CHROME}`), `Host ${host}`, host);
  }
  assertRefused(head('GET / HTTP/1.0', `User-Agent: ${CHROME}`), 'no Host', 'a browser request without Host');
});

test('cross-site and same-site pages are refused: Sec-Fetch-Site, Origin', () => {
  assertRefused(
    head(
      'POST /admin/drop HTTP/1.1',
      'Host: 127.0.0.1:43081',
      'Origin: https://evil.example',
      `User-Agent: ${CHROME}`,
      'Sec-Fetch-Site: cross-site',
      'Sec-Fetch-Mode: no-cors',
    ),
    'Sec-Fetch-Site cross-site',
    'a no-cors POST from another site',
  );
  assertRefused(
    head(
      'GET /admin/drop?all HTTP/1.1',
      'Host: 127.0.0.1:43081',
      `User-Agent: ${CHROME}`,
      'Sec-Fetch-Site: cross-site',
      'Sec-Fetch-Mode: navigate',
    ),
    'Sec-Fetch-Site cross-site',
    'a link on another site',
  );
  assertRefused(
    head(
      'POST /admin/drop HTTP/1.1',
      'Host: 127.0.0.1:43081',
      'Origin: http://127.0.0.1:3000',
      'Sec-Fetch-Site: same-site',
    ),
    'Sec-Fetch-Site same-site',
    'another local port',
  );
  // A browser that sends no Sec-Fetch-* still sends Origin on a POST.
  assertRefused(
    head('POST /admin/drop HTTP/1.1', 'Host: 127.0.0.1:43081', 'Origin: https://evil.example'),
    'Origin https://evil.example',
    'Origin only',
  );
  assertRefused(
    head('POST /admin/drop HTTP/1.1', 'Host: 127.0.0.1:43081', 'Origin: null'),
    'Origin null',
    'a sandboxed page',
  );
  assertRefused(
    head('POST / HTTP/1.1', 'Host: 127.0.0.1:43081', 'Origin: http://localhost:43081'),
    'Origin http://localhost:43081',
    'another spelling of the host',
  );
});

test('header names in any case, duplicated headers: every one is judged', () => {
  assertRefused(
    head('POST / HTTP/1.1', 'hOsT: 127.0.0.1:43081', 'oRiGiN: https://evil.example'),
    'Origin https://evil.example',
    'odd case',
  );
  assertRefused(
    head('GET / HTTP/1.1', 'host: 127.0.0.1:1', `user-agent: ${CHROME}`, 'sec-fetch-site: cross-site'),
    'Sec-Fetch-Site cross-site',
    'lower case',
  );
  const dup = (a: string, b: string) =>
    head('GET / HTTP/1.1', `Host: ${a}`, `Host: ${b}`, `User-Agent: ${CHROME}`);
  assertRefused(dup('127.0.0.1:43081', 'evil.example'), 'Host evil.example', 'a second Host');
  assertRefused(dup('evil.example', '127.0.0.1:43081'), 'Host evil.example', 'a first Host');
  assertRefused(
    head('GET / HTTP/1.1', 'Host: 127.0.0.1:1', 'Sec-Fetch-Site: same-origin', 'Sec-Fetch-Site: cross-site'),
    'Sec-Fetch-Site cross-site',
    'a second Sec-Fetch-Site',
  );
});

test('other protocols pass at their first bytes, letters or not', () => {
  const cases: [string, Buffer | string][] = [
    ['PostgreSQL startup', Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f])],
    ['TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])],
    ['SSH', 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n'],
    ['SSH, its first read', 'SSH-2.0-OpenSSH_9.6p1 U'],
    ['SSH without a comment', 'SSH-2.0-OpenSSH_9.6p1\r\n'],
    ['Redis', '*1\r\n$4\r\nPING\r\n'],
    ['memcached', 'get k\r\n'],
    ['SMTP', 'EHLO client.example\r\n'],
    ['a line of words', 'hello there, world\n'],
    ['AMQP', 'AMQP\x00\x00\x09\x01'],
    ['RTSP', 'OPTIONS /stream RTSP/1.0\r\n'],
    ['a later HTTP version', 'GET / HTTP/2.0\r\n'],
  ];
  for (const [what, bytes] of cases) assert.equal(judge(bytes), 'pass', what);
});

test('a head split across reads: more until its blank line, then judged', () => {
  const text = head(
    'POST /admin/drop HTTP/1.1',
    'Host: 127.0.0.1:43081',
    'Origin: https://evil.example',
    'Content-Length: 3',
  );
  for (let at = 0; at < text.length; at++)
    assert.equal(judge(text.slice(0, at)), 'more', `after ${at} bytes`);
  assert.ok(typeof judge(text) === 'object');
  assert.ok(typeof judge(`${text}all`) === 'object', 'the body behind it changes nothing');
});

test('a stream that ends before its head did: what is there is judged', () => {
  assert.equal(judge('go', true), 'pass', 'a partial line is no request');
  assert.equal(judge('GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\n', true), 'pass');
  assert.equal(judge('', true), 'pass', 'nothing at all');
  assert.ok(
    typeof judge('GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nOrigin: https://evil.example\r\n', true) ===
      'object',
  );
});

test('a partial line of letters waits for more: it may still become a request line', () => {
  for (const text of ['go', 'GET', 'GET ', 'GET /', 'GET /x HTTP/1.', 'GET /x HTTP/1.1\r']) {
    assert.equal(judge(text), 'more', JSON.stringify(text));
  }
});

test('a head that does not end within 16 KiB is refused: a page’s long URL would hide its headers', () => {
  const longUrl = `POST /${'a'.repeat(MAX_HEAD_BYTES)} HTTP/1.1\r\nHost: 127.0.0.1:1\r\nOrigin: https://evil.example\r\n\r\n`;
  const over =
    'refused a connection from a web browser (a request head over 16 KiB): web pages may not use this tunnel';
  assert.deepEqual(judge(longUrl.slice(0, MAX_HEAD_BYTES - 1)), 'more');
  assert.deepEqual(judge(longUrl.slice(0, MAX_HEAD_BYTES)), { refuse: over });
  assert.deepEqual(judge(longUrl), { refuse: over }, 'in one read');
  const manyHeaders = head(
    'GET / HTTP/1.1',
    'Host: 127.0.0.1:1',
    ...Array.from({ length: 400 }, (_, i) => `X-Filler-${i}: ${'x'.repeat(40)}`),
  );
  assert.deepEqual(judge(manyHeaders), { refuse: over });
  const justUnder = head(
    'GET / HTTP/1.1',
    'Host: 127.0.0.1:1',
    `X-Filler: ${'x'.repeat(MAX_HEAD_BYTES - 60)}`,
  );
  assert.ok(justUnder.length <= MAX_HEAD_BYTES);
  assert.equal(judge(justUnder), 'pass');
});

test('what the refusal line shows of a Host is printable and short', () => {
  const verdict = judge(
    head('GET / HTTP/1.1', `Host: evil\x1b[31m${'x'.repeat(200)}:1`, `User-Agent: ${CHROME}`),
  );
  assert.ok(typeof verdict === 'object');
  assert.ok(
    [...verdict.refuse].every((c) => c >= ' ' && c !== '\x7f'),
    verdict.refuse,
  );
  assert.match(verdict.refuse, /\(Host evil\\x1b\[31mx+…\)/);
  assert.ok(verdict.refuse.length < 200);
});
