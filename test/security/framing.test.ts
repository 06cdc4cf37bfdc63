/**
 * Request framing (issue 11 §1; CL.0, TE.0 and Connection-token desyncs):
 * every body a client sends reaches the upstream framed — Content-Length or
 * chunked — whatever the method, so the upstream reads exactly one request
 * with exactly the client's body. The body of each case IS a whole second
 * request carrying a forged identity: if the gateway sent it unframed on its
 * pooled keep-alive connection, the upstream would read it as a request of
 * its own (and its response would wait on the connection for the next user).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Recorded } from '../support/echo-server.js';
import { send } from '../support/http.js';
import { assertStillServing, runCase, type HostileCase } from './support/cases.js';
import { rawRequest } from './support/raw.js';
import { openRawSession } from './support/raw-session.js';
import { RULES, WEB, startWorld, type World } from './support/world.js';

let w: World;
/** The gateway's publicURL host: the Host every path-form upstream sees. */
const PUBLIC_HOST = 'bastion.example.test';
before(
  async () => {
    // Every verb on team-a/web: OPTIONS maps to no verb of its own and needs `*`.
    const everyVerb = { ...RULES[0], names: ['web:http'], verbs: ['*' as const] };
    w = await startWorld({
      config: { publicURL: `http://${PUBLIC_HOST}`, authorization: { rules: [...RULES, everyVerb] } },
    });
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
});

/**
 * What an unframed body would make the upstream read as a request of its own. Its answer comes
 * late (`/slow`), so it would wait on the pooled connection for the next user's request.
 */
const SMUGGLED = 'GET /slow?ms=40&smuggled HTTP/1.1\r\nHost: web\r\nX-Forwarded-User: system:admin\r\n\r\n';
const hex = (s: string) => Buffer.byteLength(s).toString(16);

interface Framing {
  name: string;
  /** Header lines announcing the body. */
  headers: string[];
  /** The body bytes on the wire for the payload SMUGGLED. */
  wire: string;
}

const FRAMINGS: Framing[] = [
  { name: 'Content-Length', headers: [`Content-Length: ${SMUGGLED.length}`], wire: SMUGGLED },
  {
    name: 'Content-Length named in Connection',
    headers: [`Content-Length: ${SMUGGLED.length}`, 'Connection: keep-alive, content-length'],
    wire: SMUGGLED,
  },
  {
    name: 'Transfer-Encoding: chunked',
    headers: ['Transfer-Encoding: chunked'],
    wire: `${hex(SMUGGLED)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
  },
  {
    name: 'chunked, named in Connection',
    headers: ['Transfer-Encoding: chunked', 'Connection: transfer-encoding'],
    wire: `${hex(SMUGGLED)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
  },
  {
    name: 'chunked with chunk extensions',
    headers: ['Transfer-Encoding: chunked'],
    wire: `${hex(SMUGGLED.slice(0, 10))};ext=1\r\n${SMUGGLED.slice(0, 10)}\r\n${hex(SMUGGLED.slice(10))};a="b"\r\n${SMUGGLED.slice(10)}\r\n0;last\r\n\r\n`,
  },
  {
    name: 'chunked with trailers',
    headers: ['Transfer-Encoding: chunked', 'Trailer: X-Forwarded-User'],
    wire: `${hex(SMUGGLED)}\r\n${SMUGGLED}\r\n0\r\nX-Forwarded-User: system:admin\r\n\r\n`,
  },
  {
    name: 'chunked, one byte a chunk',
    headers: ['Transfer-Encoding: chunked'],
    wire: [...SMUGGLED].map((c) => `1\r\n${c}\r\n`).join('') + '0\r\n\r\n',
  },
];

/** Every method the gateway proxies that may carry a body. */
const METHODS = ['GET', 'DELETE', 'OPTIONS', 'POST', 'PUT', 'PATCH'];

const request = (method: string, path: string, headers: string[], body: string) => (host: string) =>
  [`${method} ${path} HTTP/1.1`, `Host: ${host}`, `Authorization: Bearer ${w.alice}`, ...headers].join(
    '\r\n',
  ) + `\r\n\r\n${body}`;

/** Exactly the client's body arrived, announced by one framing header. */
function framedBody(r: Recorded): void {
  assert.equal(r.body, SMUGGLED, 'the upstream read exactly the client’s body');
  const lengths = r.rawHeaders.filter((_, i) => i % 2 === 0 && /^content-length$/i.test(r.rawHeaders[i]));
  const te = r.headers['transfer-encoding'];
  assert.ok(
    (lengths.length === 1 && te === undefined) || (lengths.length === 0 && te === 'chunked'),
    `one framing header: ${JSON.stringify(r.rawHeaders)}`,
  );
  assert.deepEqual(
    r.rawHeaders.filter((v) => /system:admin/.test(v)),
    [],
    'no trailer or header of the client’s reached the upstream as identity',
  );
}

describe('every method × framing: one request upstream, the body exactly as sent', () => {
  for (const method of METHODS) {
    for (const f of FRAMINGS) {
      test(`${method} with ${f.name}`, () =>
        runCase(w, {
          name: '',
          raw: request(method, `${WEB}/framed`, [...f.headers, 'Accept: application/json'], f.wire),
          status: 200,
          shape: method === 'HEAD' ? 'empty' : 'echo',
          upstream: {
            url: '/framed',
            check: (r) => {
              assert.equal(r.method, method);
              framedBody(r);
            },
          },
        }));
    }
  }
});

describe('a body the gateway refuses', () => {
  const refused = (name: string, raw: HostileCase['raw']): HostileCase => ({
    name,
    raw,
    status: 400,
    // A HEAD response has no body: the Status is announced, not sent.
    shape: 'any',
    check: (reply) => {
      assert.match(String(reply.headers['content-type']), /application\/json/);
      assert.equal(reply.body, '');
    },
    upstream: null,
  });
  for (const f of FRAMINGS) {
    test(`HEAD with ${f.name} is refused (a HEAD body has no meaning; its response none)`, () =>
      runCase(
        w,
        refused('', request('HEAD', `${WEB}/head`, [...f.headers, 'Accept: application/json'], f.wire)),
      ));
  }
  test('two equal Content-Lengths are refused by the parser', async () => {
    const r = await rawRequest(
      w.h.url,
      request(
        'POST',
        `${WEB}/dup`,
        ['Content-Length: 5', 'Content-Length: 5', 'Connection: close'],
        'hello',
      )(new URL(w.h.url).host),
    );
    // Node's parser refuses a repeated Content-Length outright; either way nothing went upstream.
    assert.equal(r.status, 400);
    assert.ok(!w.a.requests.some((x) => x.url === '/dup'));
  });
  test('HEAD without a body is forwarded', () =>
    runCase(w, {
      name: '',
      raw: request('HEAD', `${WEB}/head-ok`, ['Connection: close'], ''),
      status: 200,
      shape: 'any',
      upstream: { url: '/head-ok', check: (r) => assert.equal(r.method, 'HEAD') },
    }));
});

describe('Connection tokens cannot remove framing or Host', () => {
  test('Connection: host keeps the Host the upstream sees', () =>
    runCase(w, {
      name: '',
      raw: request('GET', `${WEB}/host`, ['Connection: host, close'], ''),
      status: 200,
      shape: 'echo',
      upstream: {
        url: '/host',
        check: (r) => assert.equal(r.headers.host, PUBLIC_HOST, 'the Host is still ours'),
      },
    }));
});

describe('two users on one pooled upstream connection', () => {
  test('a smuggling attempt never hands its response to another user', async () => {
    const carol = await w.issuer.mint({ aud: 'kube-bastion', sub: 'carol', groups: ['devs'] });
    w.secrets.add(carol);
    const host = new URL(w.h.url).host;
    for (let round = 0; round < 5; round++) {
      const attacks = METHODS.flatMap((method) =>
        FRAMINGS.map((f) =>
          rawRequest(
            w.h.url,
            request(method, `${WEB}/attack`, [...f.headers, 'Connection: close'], f.wire)(host),
            30_000,
          ),
        ),
      );
      const replies = await Promise.all(attacks);
      for (const r of replies) assert.equal(r.status, 200, r.text.slice(0, 200));
      // At once, while any smuggled request's late answer would still be on its way.
      for (let i = 0; i < 20; i++) {
        const a = await send(w.h.url, 'GET', `${WEB}/victim-${round}-${i}`, {
          authorization: `Bearer ${carol}`,
          accept: 'application/json',
        });
        assert.doesNotMatch(a.body, /slow from/, 'carol got the smuggled request’s answer');
        assert.equal(a.status, 200, a.body);
        const echo = JSON.parse(a.body) as { url: string; headers: Record<string, string> };
        assert.equal(echo.url, `/victim-${round}-${i}`, 'carol got the answer to her own request');
        assert.equal(echo.headers['x-forwarded-user'], 'carol');
      }
    }
    assert.deepEqual(
      w.a.requests.filter((r) => r.url.includes('smuggled')),
      [],
      'no smuggled request ever reached the upstream',
    );
    await assertStillServing(w);
  });
});

describe('the response stream is never spliced', () => {
  test('a broken pipelined request while a response streams cuts the connection, no 400 inside the body', async () => {
    const s = await openRawSession(w.h.url);
    try {
      s.write(
        `GET ${WEB}/stream?chunks=4 HTTP/1.1\r\nHost: ${new URL(w.h.url).host}\r\n` +
          `Authorization: Bearer ${w.alice}\r\n\r\n`,
      );
      await s.until(/data: 4/);
      s.write('BAD\x01 LINE\r\n\r\n');
      const text = await s.closed();
      assert.equal(
        (text.match(/HTTP\/1\.1 /g) ?? []).length,
        1,
        `one response only: ${JSON.stringify(text)}`,
      );
    } finally {
      s.close();
    }
    await assertStillServing(w);
  });
});
