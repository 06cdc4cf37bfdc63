/**
 * A person at a terminal who has logged in: a token store (under their own
 * XDG_CONFIG_HOME) holding a gateway token, and `kube-bastion connect` run as
 * a real process from source. Every process started is stopped by `close()`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenStore, configDir } from '../../../src/client/token-store.js';
import { FROM_SOURCE, startCLI, type CLIProcess } from '../../cli/cli-process.js';

export interface Terminal {
  env: NodeJS.ProcessEnv;
  /** Stores `token` for `origin`, as `kube-bastion login` would (and makes it the default gateway). */
  signIn(origin: string, token: string): Promise<void>;
  /** `kube-bastion connect ARGS…` with a listener per target: resolves with the local ports it printed. */
  connect(args: string[], targets?: number): Promise<{ cli: CLIProcess; ports: number[] }>;
  /** `kube-bastion connect ARGS…` with stdin, stdout and stderr as pipes (--stdio; one-shot failures). */
  spawnConnect(args: string[]): ChildProcessWithoutNullStreams;
  /** Resolves with the exit status of a process from spawnConnect, and its stderr. */
  exited(child: ChildProcessWithoutNullStreams): Promise<{ status: number | null; stderr: string }>;
  close(): Promise<void>;
}

export function startTerminal(): Terminal {
  const home = mkdtempSync(join(tmpdir(), 'kb-connect-home-'));
  const env = { ...process.env, XDG_CONFIG_HOME: home };
  const clis: CLIProcess[] = [];
  const children: ChildProcessWithoutNullStreams[] = [];
  return {
    env,
    async signIn(origin, token) {
      await new TokenStore(configDir(env)).save({
        origin,
        accessToken: token,
        accessTokenExpiresAt: Date.now() + 3600_000,
      });
    },
    async connect(args, targets = 1) {
      const cli = startCLI([...FROM_SOURCE, 'connect', ...args], env);
      clis.push(cli);
      await cli.waitFor(
        new RegExp(`(?:Forwarding from 127\\.0\\.0\\.1:\\d+ -> \\S+ via \\S+\\n[^]*){${targets}}`),
      );
      const ports = [...cli.stdout().matchAll(/Forwarding from 127\.0\.0\.1:(\d+)/g)].map((m) =>
        Number(m[1]),
      );
      return { cli, ports };
    },
    spawnConnect(args) {
      const [command, ...rest] = FROM_SOURCE;
      const child = spawn(command, [...rest, 'connect', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    async exited(child) {
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const [status] = (await once(child, 'exit')) as [number | null];
      child.stdin.destroy();
      return { status, stderr };
    },
    async close() {
      for (const child of children) if (child.exitCode === null) child.kill();
      await Promise.allSettled(clis.map((c) => c.stop()));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A local client: sends `data`, half-closes, resolves with all it received (rejects with its socket error). */
export function exchange(port: number, data: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.once('error', reject);
    socket.end(data);
  });
}
