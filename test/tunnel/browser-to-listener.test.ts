/**
 * The gateway refuses a tunnel handshake that carries an Origin, so that no
 * web page can open raw TCP as the person viewing it (docs/security.md, "TCP
 * tunnels"). `kube-bastion connect` opens a tunnel, without an Origin and with
 * the person's token, for every connection its loopback listener accepts —
 * including one a web page in the person's browser makes: a DNS-rebinding page
 * (its host name now resolving to 127.0.0.1) reads the tunnelled service, a
 * cross-site page writes to it blind. Here those requests are sent as the
 * browser sends them, on raw sockets, to a real `kube-bastion connect`
 * process in front of an HTTP service of team-a.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { startBackend, type Backend } from './support/backends.js';
import { startTerminal, type Terminal } from './support/terminal.js';
import { startTunnelWorld, tcpService, type TunnelWorld } from './support/world.js';

let w: TunnelWorld;
let term: Terminal;
let admin: http.Server;
let adminPort: number;
/** A server that speaks first (SMTP, MySQL): a greeting, then it echoes. */
let greeter: Backend;
const seen: { method: string; url: string; host: string; origin?: string }[] = [];

before(async () => {
  // An internal HTTP admin API: no auth of its own, it trusts that only tunnel users reach it.
  admin = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      host: req.headers.host ?? '',
      origin: req.headers.origin,
    });
    res.setHeader('connection', 'close');
    res.end(req.method === 'GET' ? 'db-password=hunter2\n' : 'dropped\n');
  });
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.8', resolve));
  adminPort = (admin.address() as net.AddressInfo).port;
  greeter = await startBackend('127.0.0.9', (socket) => {
    socket.write('220 ready\r\n');
    socket.pipe(socket);
  });
  w = await startTunnelWorld({
    objects: () => [
      ...tcpService('admin', 8080, '127.0.0.8', adminPort),
      ...tcpService('greeter', 25, greeter.host, greeter.port),
    ],
  });
  term = startTerminal();
  await term.signIn(w.h.url, w.alice);
});

after(async () => {
  await term?.close();
  await w?.close();
  await new Promise((resolve) => admin?.close(resolve));
  await greeter?.close();
});

/** One raw HTTP/1.1 request on a new local connection; what came back (empty when it was reset). */
async function rawRequest(port: number, head: string): Promise<string> {
  return (await rawExchange(port, head)).got;
}

/** The same, with the error the local program saw (ECONNRESET: a reset). */
function rawExchange(port: number, head: string): Promise<{ got: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    let error: string | undefined;
    socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
    socket.once('close', () => resolve({ got, error }));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    socket.write(head);
  });
}

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';

test('a web page cannot use the loopback listener of connect as the person: no Origin-less tunnel on its behalf', async () => {
  const { ports } = await term.connect(['team-a/admin:8080', '--server', w.h.url]);
  const port = ports[0];

  // The person's own tool (curl http://127.0.0.1:PORT/health) works: the control.
  const own = await rawRequest(
    port,
    `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n`,
  );
  assert.match(own, /^HTTP\/1\.1 200/, 'the person’s own client is served');
  seen.length = 0;

  // A DNS-rebinding page at http://rebind.attacker.example:PORT/ reading "its own origin" (same-origin fetch).
  const read = await rawRequest(
    port,
    `GET /secrets HTTP/1.1\r\nHost: rebind.attacker.example:${port}\r\n` +
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36\r\n' +
      'Accept: */*\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n' +
      `Referer: http://rebind.attacker.example:${port}/\r\n\r\n`,
  );
  // Any site the person visits, writing blind: fetch('http://127.0.0.1:PORT/admin/drop', {method: 'POST', mode: 'no-cors'}).
  const write = await rawRequest(
    port,
    `POST /admin/drop HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: https://evil.example\r\n` +
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36\r\n' +
      'Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 3\r\n' +
      'Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: empty\r\n\r\nall',
  );
  assert.deepEqual(
    {
      reachedService: seen,
      pageRead: read.split('\r\n\r\n')[1] ?? '',
      blindWrite: write.split('\r\n\r\n')[1] ?? '',
    },
    { reachedService: [], pageRead: '', blindWrite: '' },
    'requests made by web pages were carried to the service through tunnels opened with the person’s token',
  );
});

test('a refused page: the browser gets a reset, the person one line, the gateway an audited 4101; the listener serves the next', async () => {
  const { cli, ports } = await term.connect(['team-a/admin:8080', '--server', w.h.url]);
  const port = ports[0];
  seen.length = 0;
  const refused = await rawExchange(
    port,
    `GET /secrets HTTP/1.1\r\nHost: rebind.attacker.example:${port}\r\nUser-Agent: ${CHROME}\r\n\r\n`,
  );
  assert.deepEqual(refused, { got: '', error: 'ECONNRESET' });
  await eventually(() => cli.stderr().endsWith('\n'));
  assert.equal(
    cli.stderr(),
    `kube-bastion connect: team-a/admin:8080: refused a connection from a web browser (Host rebind.attacker.example:${port}): web pages may not use this tunnel\n`,
  );
  let closed: Record<string, unknown> | undefined;
  await eventually(() => {
    closed = w
      .audit()
      .map((e) => e.tunnel as Record<string, unknown> | undefined)
      .find((t) => t?.event === 'close' && t.closeCode === 4101);
    return closed !== undefined;
  });
  assert.equal(closed!.endedBy, 'client-aborted');
  assert.equal(closed!.bytesToBackend, 0, 'not one byte of the page’s request went to the backend');
  assert.match(
    String(closed!.detail),
    /^refused a connection from a web browser \(Host rebind\.attacker\.example:/,
  );

  const next = await rawRequest(
    port,
    `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: curl/8.5.0\r\n\r\n`,
  );
  assert.match(next, /^HTTP\/1\.1 200/, 'the next connection is served');
  assert.deepEqual(
    seen.map((r) => r.url),
    ['/health'],
  );
});

test('a server that speaks first greets the local program before it has sent a byte', async () => {
  const { ports } = await term.connect(['team-a/greeter:25', '--server', w.h.url]);
  const socket = net.connect({ port: ports[0], host: '127.0.0.1' });
  socket.on('error', () => undefined);
  let got = '';
  socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
  /** Resolves once `text` has arrived (the accumulating listener above runs first). */
  const until = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!got.includes(text)) return;
        socket.off('data', check);
        resolve();
      };
      socket.on('data', check);
      check();
    });
  try {
    await until('220 ready\r\n');
    assert.equal(got, '220 ready\r\n', 'the greeting, and nothing else yet');
    socket.write('EHLO laptop.example\r\n');
    await until('EHLO laptop.example\r\n');
    assert.equal(got, '220 ready\r\nEHLO laptop.example\r\n');
  } finally {
    socket.destroy();
  }
});
