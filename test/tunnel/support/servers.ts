/**
 * Real servers behind tunnels, started without picking a port in advance (no
 * race with anyone else on the machine):
 *
 *   redis   a real redis-server listening on a unix socket only (`--port 0`),
 *           reached through a plain TCP front on 127.0.0.x port 0 that pipes
 *           each connection to it;
 *   sshd    a real OpenSSH sshd in inetd mode (`sshd -i`): the TCP front on
 *           127.0.0.x port 0 hands each accepted socket to its own sshd as
 *           stdin/stdout, with a throwaway host key and one authorized key.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startBackend, type Backend } from './backends.js';

export interface RedisBehindTcp extends Backend {
  stop(): Promise<void>;
}

function waitForLine(child: ChildProcess, line: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (line.test(output)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${output}`)));
  });
}

export async function startRedisBehindTcp(host: string): Promise<RedisBehindTcp> {
  const dir = mkdtempSync(join(tmpdir(), 'kb-tunnel-redis-'));
  const socketPath = join(dir, 'redis.sock');
  const child = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socketPath,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForLine(child, /ready to accept connections/i, 'redis-server');
  child.stdout.resume();
  child.stderr.resume();
  const front = await startBackend(host, (socket) => {
    const redis = net.connect({ path: socketPath });
    redis.on('error', () => socket.destroy());
    socket.pipe(redis).pipe(socket);
  });
  return {
    ...front,
    async stop() {
      await front.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Sshd extends Backend {
  /** The private key whose public half is authorized. */
  keyFile: string;
  user: string;
  stop(): Promise<void>;
}

export async function startSshd(host: string): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'kb-tunnel-sshd-'));
  const key = (name: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  key('host_key');
  key('user_key');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')));
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PidFile none',
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // Run as root, sshd wants its privilege-separation directory, which the package's service unit creates.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const children = new Set<ChildProcess>();
  const front = await startBackend(
    host,
    (socket) => {
      const child = spawn('/usr/sbin/sshd', ['-i', '-e', '-f', join(dir, 'sshd_config')], {
        stdio: [socket, socket, 'ignore'],
      });
      children.add(child);
      child.once('exit', () => {
        children.delete(child);
        socket.destroy();
      });
    },
    true,
  );
  return {
    ...front,
    keyFile: join(dir, 'user_key'),
    user: userInfo().username,
    async stop() {
      for (const child of children) child.kill('SIGTERM');
      await front.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
