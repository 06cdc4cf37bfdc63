/**
 * `kube-bastion connect` as a person uses it, as a real process: the token
 * comes from the store `kube-bastion login` writes; real programs connect to
 * the local port it prints (redis-cli against a real redis-server) or run it
 * as their ProxyCommand (ssh against a real sshd). Big streams arrive intact
 * and a hundred connections at once each get their own tunnel.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { FROM_SOURCE } from '../cli/cli-process.js';
import { deterministicBytes, sha256, source, startBackend, type Backend } from './support/backends.js';
import { startRedisBehindTcp, startSshd, type RedisBehindTcp, type Sshd } from './support/servers.js';
import { exchange, startTerminal, type Terminal } from './support/terminal.js';
import { startTunnelWorld, tcpService, type TunnelWorld } from './support/world.js';

const run = promisify(execFile);
const BIG = 50 * 1024 * 1024;

let w: TunnelWorld;
let redis: RedisBehindTcp;
let sshd: Sshd;
let big: Buffer;
let bigSource: Backend;
let term: Terminal;

before(async () => {
  big = deterministicBytes(BIG, 7);
  [redis, sshd, bigSource] = await Promise.all([
    startRedisBehindTcp('127.0.0.5'),
    startSshd('127.0.0.6'),
    startBackend('127.0.0.7', source(big)),
  ]);
  w = await startTunnelWorld({
    objects: () => [
      ...tcpService('redis', 6379, redis.host, redis.port),
      ...tcpService('sshd', 22, sshd.host, sshd.port),
      ...tcpService('source', 15, bigSource.host, bigSource.port),
    ],
  });
  term = startTerminal();
  await term.signIn(w.h.url, w.alice);
});

after(async () => {
  await term?.close();
  await w?.close();
  await Promise.allSettled([redis?.stop(), sshd?.stop(), bigSource?.close()]);
});

test('redis-cli: PING, SET, GET against a real redis-server, on the free port connect printed', async () => {
  const { ports } = await term.connect(['team-a/redis:6379', '--server', w.h.url]);
  const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(ports[0]), ...args]);
  assert.equal((await cli('PING')).stdout.trim(), 'PONG');
  assert.equal((await cli('SET', 'greeting', 'hello through the bastion')).stdout.trim(), 'OK');
  assert.equal((await cli('GET', 'greeting')).stdout.trim(), 'hello through the bastion');
});

test('50 MB each way arrive byte-identical (sha256 at both ends); two targets, one process', async () => {
  const { ports } = await term.connect(['team-a/sink:9', 'team-a/source:15', '--server', w.h.url], 2);
  const [up, down] = await Promise.all([exchange(ports[0], big), exchange(ports[1], '')]);
  assert.equal(up.toString(), `${sha256(big)}\n`, 'the backend hashed exactly what we sent');
  assert.equal(down.length, BIG);
  assert.equal(sha256(down), sha256(big), 'we received exactly what the backend sent');
});

test('100 connections at once, each its own tunnel, each its own bytes back', async () => {
  const { ports } = await term.connect(['team-a/echo:7', '--server', w.h.url]);
  const accepted = w.echo.accepted;
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) => exchange(ports[0], `connection ${i} `.repeat(500))),
  );
  answers.forEach((a, i) => assert.equal(a.toString(), `connection ${i} `.repeat(500)));
  assert.equal(w.echo.accepted - accepted, 100);
});

test('ssh through --stdio as its ProxyCommand, to a real sshd, runs a command (default gateway: the last login)', async () => {
  const proxyCommand = [...FROM_SOURCE, 'connect', 'team-a/sshd:22', '--stdio']
    .map((a) => `'${a}'`)
    .join(' ');
  const { stdout } = await run(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-o',
      `ProxyCommand=${proxyCommand}`,
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-i',
      sshd.keyFile,
      `${sshd.user}@sshd.team-a`,
      'echo hello from $(hostname) through the bastion',
    ],
    { env: term.env, cwd: join(import.meta.dirname, '../..') },
  );
  assert.match(stdout, /^hello from .+ through the bastion\n$/);
});
