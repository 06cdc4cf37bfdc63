/**
 * The parts of WebSocket liveness that decide, without sockets: where a close
 * frame may go in the backend's byte stream, and when a credential is asked
 * again (including while its store cannot answer). The whole thing through
 * the gateway: test/authn/websocket-session.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CredentialLiveness, Liveness } from '../../src/authn/liveness.js';
import { closeFrame, FrameBoundary } from '../../src/server/liveness/frame-boundary.js';
import { watchCredential } from '../../src/server/liveness/watch-credential.js';
import { ManualClock } from '../support/manual-clock.js';

function frame(payload: number, masked = false): Buffer {
  const ext = payload < 126 ? 0 : payload < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  head[0] = 0x82;
  head[1] = (masked ? 0x80 : 0) | (ext === 0 ? payload : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(payload, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(payload), 2);
  return Buffer.concat([head, Buffer.alloc(payload, 0x0d)]); // \r bytes must not confuse anything
}

describe('FrameBoundary', () => {
  const upgrade = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
  const frames = [frame(0), frame(5), frame(300), frame(70_000), frame(10, true), frame(125)];
  const stream = Buffer.concat([upgrade, ...frames]);
  const ends: number[] = [];
  let at = upgrade.length;
  for (const f of frames) ends.push((at += f.length));

  for (const size of [1, 2, 3, 7, 64, 4096, stream.length]) {
    test(`finds every frame end when the bytes come in chunks of ${size}`, () => {
      const b = new FrameBoundary();
      const found: number[] = [];
      let offset = 0;
      for (let start = 0; start < stream.length; start += size) {
        let chunk = stream.subarray(start, start + size);
        while (chunk.length > 0) {
          // Step past a boundary we are sitting on, then look for the next one.
          const step = b.atBoundary ? b.consume(chunk.subarray(0, 1)) : b.consume(chunk, true);
          chunk = chunk.subarray(step);
          offset += step;
          if (b.atBoundary && found.at(-1) !== offset) found.push(offset);
        }
      }
      assert.deepEqual(found, [upgrade.length, ...ends]);
    });
  }

  test('before the upgrade response head is through, nothing is a boundary', () => {
    const b = new FrameBoundary();
    b.consume(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n'));
    assert.equal(b.upgraded, false);
    assert.equal(b.atBoundary, false);
  });

  test('a backend that refuses the upgrade sends a plain response: its body is never taken for frames', () => {
    const b = new FrameBoundary();
    b.consume(Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n'));
    assert.equal(b.consume(Buffer.from([0x82, 0x00]), true), 2);
    assert.equal(b.upgraded, false);
    assert.equal(b.atBoundary, false);
  });

  test('the close frame: FIN + close, code, reason cut to fit a control frame', () => {
    const f = closeFrame(1008, 'signed out');
    assert.deepEqual([...f.subarray(0, 4)], [0x88, 12, 0x03, 0xf0]);
    assert.equal(f.subarray(4).toString(), 'signed out');
    assert.ok(closeFrame(1008, 'é'.repeat(200)).length <= 127);
  });
});

describe('watchCredential', () => {
  /** A credential whose answers the test scripts. */
  function scripted(answers: (() => Liveness)[], recheckMs = 1000) {
    const calls: number[] = [];
    const clock = new ManualClock(0);
    const liveness: CredentialLiveness = {
      recheckMs,
      // eslint-disable-next-line @typescript-eslint/require-await -- a throw must become a rejection
      check: async () => {
        calls.push(clock.now());
        return (answers.shift() ?? (() => ({ alive: true as const })))();
      },
    };
    return { clock, liveness, calls };
  }
  const flush = () => new Promise((r) => setImmediate(r));

  test('asks at once, then every recheckMs, and at the credential’s own end', async () => {
    const { clock, liveness, calls } = scripted([
      () => ({ alive: true, expiresAt: 2500 }),
      () => ({ alive: true, expiresAt: 2500 }),
      () => ({ alive: true, expiresAt: 2500 }),
      () => ({ alive: false, reason: 'session expired' }),
    ]);
    const lapsed: string[] = [];
    watchCredential(liveness, { clock, lapsed: (r) => lapsed.push(r) });
    for (let i = 0; i < 4; i++) {
      await flush();
      clock.advance(1000);
    }
    await flush();
    assert.deepEqual(calls, [0, 1000, 2000, 2500]);
    assert.deepEqual(lapsed, ['session expired']);
    assert.equal(clock.pending(), 0, 'no more checks');
  });

  test('while the store cannot answer, the connection is kept — but not past the last known end', async () => {
    const down = () => {
      throw new Error('redis down');
    };
    const { clock, liveness, calls } = scripted([
      () => ({ alive: true, expiresAt: 3500 }),
      down,
      down,
      down,
      down,
    ]);
    const lapsed: string[] = [];
    const unanswered: unknown[] = [];
    watchCredential(liveness, {
      clock,
      lapsed: (r) => lapsed.push(r),
      unanswered: (e) => unanswered.push(e),
    });
    for (let i = 0; i < 5; i++) {
      await flush();
      clock.advance(1000);
    }
    await flush();
    assert.deepEqual(calls, [0, 1000, 2000, 3000, 3500]);
    assert.equal(unanswered.length, 4);
    assert.deepEqual(lapsed, ['session expired']);
  });

  test('stopping it (the connection closed) cancels the next check', async () => {
    const { clock, liveness, calls } = scripted([]);
    const stop = watchCredential(liveness, { clock, lapsed: () => assert.fail('must not lapse') });
    await flush();
    stop();
    clock.advance(10_000);
    await flush();
    assert.deepEqual(calls, [0]);
  });
});
