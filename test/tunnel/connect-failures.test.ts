/**
 * `kube-bastion connect` when things go wrong: every failure is one line on
 * stderr and an error the local program sees (a reset, a non-zero status) —
 * never a stream that just stops. The local listener stays up through
 * refusals, and reads the token again for every new connection.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { exchange, startTerminal, type Terminal } from './support/terminal.js';
import { startTunnelWorld, type TunnelWorld } from './support/world.js';

let w: TunnelWorld;
let term: Terminal;

before(async () => {
  w = await startTunnelWorld();
  term = startTerminal();
  await term.signIn(w.h.url, w.alice);
});

after(async () => {
  await term?.close();
  await w?.close();
});

test('a refusal before the upgrade: the local connection is reset, the Status in one line; a new token is used at once', async () => {
  await term.signIn(w.h.url, w.bob);
  try {
    const { cli, ports } = await term.connect(['team-a/echo:7', '--server', w.h.url]);
    await assert.rejects(exchange(ports[0], 'hello'), { code: 'ECONNRESET' });
    await eventually(() => cli.stderr().endsWith('\n'));
    assert.equal(
      cli.stderr(),
      'kube-bastion connect: team-a/echo:7: 403 Forbidden: services "echo" is forbidden: User "bob" cannot create resource "services/portforward" in API group "" in the namespace "team-a"\n',
    );
    // The listener stayed up; the token is read again for the next connection.
    await term.signIn(w.h.url, w.alice);
    assert.equal((await exchange(ports[0], 'hello')).toString(), 'hello');
  } finally {
    await term.signIn(w.h.url, w.alice);
  }
});

test('a backend that refuses: the local connection is reset and the reason printed', async () => {
  const { cli, ports } = await term.connect(['team-a/refused:5432', '--server', w.h.url]);
  await assert.rejects(exchange(ports[0], 'hello'), { code: 'ECONNRESET' });
  await eventually(() => cli.stderr().endsWith('\n'));
  assert.match(
    cli.stderr(),
    /^kube-bastion connect: team-a\/refused:5432: tunnel closed: the backend could not be reached \(cannot connect to the backend: connect ECONNREFUSED 127\.0\.0\.1:1\)\n$/,
  );
});

test('a backend that dies mid-stream: the local program gets ECONNRESET after the bytes that came', async () => {
  const { cli, ports } = await term.connect(['team-a/dying:11', '--server', w.h.url]);
  const received: Buffer[] = [];
  const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
    const socket = net.connect({ port: ports[0], host: '127.0.0.1' });
    socket.on('data', (c: Buffer) => received.push(c));
    socket.once('error', resolve);
    socket.once('end', () => resolve(new Error('a clean end: the cut was hidden')));
    socket.write('go\n'); // a whole line: the listener holds a partial line of letters (browser-guard.ts)
  });
  assert.equal(error.code, 'ECONNRESET');
  assert.ok(Buffer.concat(received).length <= 64 * 1024);
  await eventually(() => /backend connection failed/.test(cli.stderr()));
});

test('--stdio: a backend that dies mid-stream ends the command with status 1 and the reason', async () => {
  const child = term.spawnConnect(['team-a/dying:11', '--stdio', '--server', w.h.url]);
  let stdout = 0;
  child.stdout.on('data', (c: Buffer) => (stdout += c.length));
  child.stdin.write('go'); // stdin stays open: the cut, not an end of ours, ends the command
  const { status, stderr } = await term.exited(child);
  assert.equal(status, 1);
  assert.ok(stdout <= 64 * 1024);
  assert.equal(
    stderr,
    'kube-bastion connect: team-a/dying:11: tunnel closed: the backend connection failed (backend connection failed: ECONNRESET)\n',
  );
});

test('not signed in (status 1), or a target no object can have (status 2): one line, no listener', async () => {
  const [nobody, bad] = await Promise.all([
    term.exited(term.spawnConnect(['team-a/echo:7', '--server', 'http://127.0.0.1:9'])),
    term.exited(term.spawnConnect(['team-a/Postgres:5432', '--server', w.h.url])),
  ]);
  assert.deepEqual(nobody, {
    status: 1,
    stderr:
      'kube-bastion connect: not signed in to http://127.0.0.1:9; run: kube-bastion login http://127.0.0.1:9\n',
  });
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /^kube-bastion: "team-a\/Postgres:5432": no service or namespace can have this name/,
  );
});
