/**
 * Bytes a gateway sends right behind its 101 can reach `kube-bastion connect`
 * in the same read as the handshake answer (a busy client, a fast backend:
 * `connect` to a server that speaks first). They are the stream's first bytes
 * and must reach the local program, before the rest and in order.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { listen } from '../../src/client/connect/listener.js';
import { parseConnectTarget } from '../../src/client/connect/target.js';
import { TokenStore } from '../../src/client/token-store.js';
import { END_MESSAGE, TUNNEL_SUBPROTOCOL } from '../../src/proxy/tunnel/protocol.js';

/** A server's (unmasked) frame: FIN + opcode, then a payload under 64 KiB. */
function frame(opcode: number, payload: Buffer): Buffer {
  const head =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}
const binary = (text: string) => frame(0x2, Buffer.from(text));

test(
  'bytes that arrive in the same read as the 101 reach the local program first',
  { timeout: 10_000 },
  async (t) => {
    // A gateway that answers the upgrade and sends the first bytes in one write; the rest once the
    // local program has said something (so after the client is surely reading).
    const server = http.createServer();
    const upgraded = new Set<net.Socket>();
    server.on('upgrade', (req, socket: net.Socket) => {
      upgraded.add(socket);
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      const answer =
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${TUNNEL_SUBPROTOCOL}\r\n\r\n`;
      socket.on('error', () => undefined);
      socket.write(Buffer.concat([Buffer.from(answer), binary('first '), binary('second ')]));
      socket.once('data', () =>
        socket.write(Buffer.concat([binary('third'), frame(0x1, Buffer.from(END_MESSAGE))])),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const store = new TokenStore(mkdtempSync(path.join(tmpdir(), 'kb-early-')));
    await store.save({ origin, accessToken: 'token', accessTokenExpiresAt: Date.now() + 3600_000 });
    const listening = await listen({
      origin,
      store,
      target: parseConnectTarget('team-a/speaks-first:1'),
      host: '127.0.0.1',
      port: 0,
      keepaliveMs: 0,
      report: (line) => t.diagnostic(line),
    });
    try {
      const received = await new Promise<string>((resolve, reject) => {
        const local = net.connect({ port: listening.port, host: '127.0.0.1', allowHalfOpen: true });
        const chunks: Buffer[] = [];
        local.on('data', (c: Buffer) => chunks.push(c));
        // A whole line: a partial line of letters could still become an HTTP request, and the
        // listener holds such bytes until it can tell (browser-guard.ts).
        local.write('go\n');
        local.once('error', reject);
        t.signal.addEventListener('abort', () =>
          reject(new Error(`only ${JSON.stringify(Buffer.concat(chunks).toString())} came, and no end`)),
        );
        local.once('end', () => {
          local.end();
          resolve(Buffer.concat(chunks).toString());
        });
      });
      assert.equal(received, 'first second third');
    } finally {
      await listening.close();
      for (const socket of upgraded) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
