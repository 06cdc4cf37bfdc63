/**
 * The relay's `admit` (proxy/tunnel/relay.ts), as `kube-bastion connect`'s
 * listener uses it with the browser guard: a real local TCP connection relayed
 * over a real WebSocket. The first bytes wait, whole, until the guard decides;
 * once it let them through it is never asked again; the other direction never
 * waits for it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { JUDGE_WHEN_QUIET_MS, judgeFirstBytes } from '../../src/client/connect/browser-guard.js';
import { END_MESSAGE } from '../../src/proxy/tunnel/protocol.js';
import { relay, type RelayEnd } from '../../src/proxy/tunnel/relay.js';
import { eventually } from '../support/eventually.js';
import { ManualClock } from '../support/manual-clock.js';

/** The far end of the WebSocket: what arrived there (binary as latin1 text, `<end>` for the end message). */
interface Far {
  ws: WebSocket;
  received: string[];
}

let wss: WebSocketServer;
let local: net.Server;
const farEnds: WebSocket[] = [];
/** Everything a test opened, closed after the file whatever happened. */
const opened: { destroy(): void }[] = [];

before(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => farEnds.push(ws));
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  local = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const thing of opened) thing.destroy();
  for (const ws of wss.clients) ws.terminate();
  await new Promise((resolve) => wss.close(resolve));
  await new Promise((resolve) => local.close(resolve));
});

/** A relayed pair: `program` is the local program's socket; `judged` the lengths the guard was shown. */
async function relayed(clock?: ManualClock) {
  const accepted = new Promise<net.Socket>((resolve) => local.once('connection', resolve));
  const program = net.connect({ port: (local.address() as net.AddressInfo).port, host: '127.0.0.1' });
  program.on('error', () => undefined);
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`);
  opened.push(program, { destroy: () => ws.terminate() });
  await new Promise((resolve) => ws.once('open', resolve));
  await eventually(() => farEnds.length > 0);
  const far: Far = { ws: farEnds.shift()!, received: [] };
  far.ws.on('message', (m: Buffer, binary: boolean) =>
    far.received.push(binary ? m.toString('latin1') : m.toString() === END_MESSAGE ? '<end>' : '?'),
  );
  const socket = await accepted;
  opened.push(socket);
  const judged: number[] = [];
  let end: RelayEnd | undefined;
  relay(ws, socket, {
    admit(head, ended) {
      judged.push(head.length);
      return judgeFirstBytes(head, ended);
    },
    admitQuiet: clock && { ms: JUDGE_WHEN_QUIET_MS, clock },
    ended: (how) => {
      end = how;
      socket.destroy();
      ws.terminate();
    },
  }).start();
  return { program, far, judged, ended: () => end };
}

test('a head split over two reads is held whole, then refused: not one byte went out', async () => {
  const r = await relayed();
  const line = 'POST /admin/drop HTTP/1.1\r\nHost: 127.0.0.1:1\r\n';
  r.program.write(line);
  await eventually(() => r.judged.length === 1);
  assert.deepEqual(r.far.received, [], 'held while undecided');
  r.program.write('Origin: https://evil.example\r\n\r\nall');
  await eventually(() => r.ended() !== undefined);
  assert.deepEqual(r.judged, [line.length, line.length + 35]);
  assert.equal(r.ended()?.how, 'refused');
  assert.deepEqual(r.far.received, []);
  r.program.destroy();
});

test('once let through, the held bytes go first, in order, and the guard is not asked again', async () => {
  const r = await relayed();
  r.program.write('GET /health HTTP/1.1\r\n');
  await eventually(() => r.judged.length === 1);
  r.program.write('Host: 127.0.0.1:1\r\nUser-Agent: curl/8.5.0\r\n\r\n');
  await eventually(() => r.far.received.length === 1);
  r.program.end('GET /next HTTP/1.1\r\nHost: evil.example:1\r\nOrigin: null\r\n\r\n');
  await eventually(() => r.far.received.at(-1) === '<end>');
  assert.deepEqual(r.far.received, [
    'GET /health HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUser-Agent: curl/8.5.0\r\n\r\n',
    'GET /next HTTP/1.1\r\nHost: evil.example:1\r\nOrigin: null\r\n\r\n',
    '<end>',
  ]);
  assert.equal(r.judged.length, 2, 'only the first request of a connection is judged');
  r.program.destroy();
});

test('the far end speaks first while the local bytes wait; a FIN decides what is held', async () => {
  const r = await relayed();
  let heard = '';
  r.program.on('data', (c: Buffer) => (heard += c.toString('latin1')));
  r.program.write('ruok'); // a partial line of letters: it could still become a request line
  await eventually(() => r.judged.length === 1);
  r.far.ws.send(Buffer.from('220 ready\r\n'));
  await eventually(() => heard === '220 ready\r\n');
  assert.deepEqual(r.far.received, [], 'still held');
  r.program.end();
  await eventually(() => r.far.received.length === 2);
  assert.deepEqual(r.far.received, ['ruok', '<end>']);
  r.program.destroy();
});

test('a few undecided bytes and then quiet (ZooKeeper’s `ruok`, no newline): sent once the wait is over, and the answer comes back', async () => {
  const clock = new ManualClock();
  const r = await relayed(clock);
  let heard = '';
  r.program.on('data', (c: Buffer) => (heard += c.toString('latin1')));
  r.program.write('ru');
  await eventually(() => r.judged.length === 1);
  clock.advance(JUDGE_WHEN_QUIET_MS - 1);
  r.program.write('ok'); // more bytes start the wait again
  await eventually(() => r.judged.length === 2);
  clock.advance(JUDGE_WHEN_QUIET_MS - 1);
  assert.deepEqual(r.far.received, [], 'still held: not quiet long enough');
  clock.advance(1);
  await eventually(() => r.far.received.length === 1);
  assert.deepEqual(r.far.received, ['ruok']);
  r.far.ws.send(Buffer.from('imok'));
  await eventually(() => heard === 'imok');
  // Let through as it stood, not at its end: the next bytes are judged with it (here they decide: not HTTP).
  r.program.write('stat\n');
  await eventually(() => r.far.received.length === 2);
  assert.deepEqual(r.far.received, ['ruok', 'stat\n']);
  r.program.write('more');
  await eventually(() => r.far.received.length === 3);
  assert.equal(r.judged.length, 4, 'judged at the wait’s end and once more until decided, then never again');
  r.program.destroy();
});

test('a browser’s head cut short and then quiet is judged on what came: refused, nothing sent', async () => {
  const clock = new ManualClock();
  const r = await relayed(clock);
  r.program.write('GET /secret HTTP/1.1\r\nHost: rebound.example:8080\r\n');
  await eventually(() => r.judged.length === 1);
  clock.advance(JUDGE_WHEN_QUIET_MS);
  await eventually(() => r.ended() !== undefined);
  assert.equal(r.ended()?.how, 'refused');
  assert.deepEqual(r.far.received, []);
  r.program.destroy();
});

test('a head cut short after a loopback Host, then quiet, then the rest (Origin of another site): refused, the rest and its body never go', async () => {
  const clock = new ManualClock();
  const r = await relayed(clock);
  // What passes "as it stands" (a request line and a loopback Host, no mark of a browser yet) is no final word:
  // the browser's remaining lines come after the wait.
  r.program.write('POST /admin/drop HTTP/1.1\r\nHost: 127.0.0.1:1\r\n');
  await eventually(() => r.judged.length === 1);
  clock.advance(JUDGE_WHEN_QUIET_MS);
  await eventually(() => r.judged.length === 2);
  r.program.write('Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n\r\nFLUSHALL\r\n');
  await eventually(() => r.ended() !== undefined);
  assert.equal(r.ended()?.how, 'refused');
  assert.ok(!r.far.received.join('').includes('FLUSHALL'), 'the body went out');
  assert.ok(!r.far.received.join('').includes('\r\n\r\n'), 'a complete head went out');
  r.program.destroy();
});
