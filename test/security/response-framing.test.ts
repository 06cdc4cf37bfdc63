/**
 * The response head the gateway writes and the body it relays must agree on
 * the body's length: bytes past a declared Content-Length are read by the
 * client — or by an ingress that keeps connections to the gateway open for
 * many users — as the answer to the *next* request on that connection. An
 * upstream must not be able to choose those bytes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { HOSTILE, startHostileWorld, type HostileWorld } from './support/hostile-world.js';
import { openRawSession } from './support/raw-session.js';

let hw: HostileWorld;
before(
  async () => {
    hw = await startHostileWorld();
  },
  { timeout: 60_000 },
);
after(async () => {
  await hw?.close();
});

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The complete responses at the front of what a client read from one connection, as a client frames them. */
function responses(text: string): Parsed[] {
  const out: Parsed[] = [];
  let at = 0;
  for (;;) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return out;
    const [line, ...fields] = text.slice(at, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const f of fields)
      headers[f.slice(0, f.indexOf(':')).toLowerCase()] = f.slice(f.indexOf(':') + 1).trim();
    let body = '';
    let next = headEnd + 4;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      for (;;) {
        const eol = text.indexOf('\r\n', next);
        if (eol === -1) return out;
        const size = parseInt(text.slice(next, eol), 16);
        if (text.length < eol + 2 + size + 2) return out;
        body += text.slice(eol + 2, eol + 2 + size);
        next = eol + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (text.length < next + length) return out;
      body = text.slice(next, next + length);
      next += length;
    }
    out.push({ status: Number(line.split(' ')[1]), headers, body });
    at = next;
  }
}

/** A whole response of exactly `size` bytes, of the upstream's making. */
function smuggledResponse(size: number): string {
  const head = (n: number) =>
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Smuggled: yes\r\nContent-Length: ${n}\r\n\r\n`;
  let n = size - head(0).length;
  while (head(n).length + n > size) n--;
  return head(n) + 'S'.repeat(size - head(n).length);
}

describe('an upstream cannot make the relayed Content-Length disagree with the body', () => {
  test('Connection: content-type on rewritten HTML: the next request on the connection gets its own answer', async () => {
    // The rewriter decided from the headers as the client gets them (Content-Type removed as
    // Connection-nominated: not HTML, keep Content-Length) and rewrote the body from the upstream's
    // (text/html): each link gains the prefix, and the upstream's length no longer covers the body.
    const links = 4;
    const page = `<html><body>${'<a href="/x">x</a>'.repeat(links)}</body></html>`;
    const smuggled = smuggledResponse(links * HOSTILE.length);
    const body = page + smuggled;
    hw.up.on(
      '/cl-after-rewrite',
      'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: content-type\r\n' +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    );
    const s = await openRawSession(hw.w.h.url);
    try {
      const auth = `Authorization: Bearer ${hw.w.alice}\r\n`;
      s.write(`GET ${HOSTILE}/cl-after-rewrite HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
      await eventually(() => responses(s.received()).length >= 1);
      s.write(`GET ${HOSTILE}/after HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
      // The second answer, or the connection closed (a gateway that refuses to go on may close it).
      await eventually(
        async () =>
          responses(s.received()).length >= 2 ||
          (await s.closed(1).then(
            () => true,
            () => false,
          )),
      );
      const got = responses(s.received());
      assert.equal(got[0].status, 200);
      for (const r of got)
        assert.equal(
          r.headers['x-smuggled'],
          undefined,
          `a response of the upstream's making: ${JSON.stringify(r)}`,
        );
      if (got.length >= 2) assert.equal(got[1].body, 'ok', 'the second request gets its own answer');
    } finally {
      s.close();
    }
  });
});
