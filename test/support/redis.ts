/**
 * A real redis-server (Debian package) for tests: its own temp dir, a free
 * loopback port (redis-server cannot listen on port 0 and say which it got: a
 * port taken in the meantime means a fresh one, see onFreePort), no persistence. `stop()` kills it and removes the dir.
 * `pause()` stops the process with SIGSTOP: connections stay open and
 * commands are accepted by the kernel but never answered (a stalled Redis);
 * `resume()` sends SIGCONT. `stop()` resumes it first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onFreePort } from './free-port.js';

export interface RedisServer {
  url: string;
  port: number;
  /** SIGSTOP: the server hangs with its sockets open. */
  pause(): void;
  /** SIGCONT: it answers again, queued commands first. */
  resume(): void;
  stop(): Promise<void>;
}

export async function startRedis(binary = 'redis-server'): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kb-redis-'));
  try {
    return await onFreePort((port) => startOn(binary, dir, port));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** redis-server on `port`; rejects (the process gone) when it does not start, with what it printed. */
async function startOn(binary: string, dir: string, port: number): Promise<RedisServer> {
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const started = new Promise<void>((resolve, reject) => {
    let output = '';
    // A hang guard: redis-server is ready in milliseconds, or prints why not and exits.
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  await started.catch(async (err: unknown) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    throw err;
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      if (child.exitCode === null) child.kill('SIGCONT');
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGCONT');
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
