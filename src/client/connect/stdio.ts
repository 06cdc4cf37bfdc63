/**
 * `kube-bastion connect TARGET --stdio`: one tunnel carrying stdin and stdout,
 * for `ssh -o ProxyCommand='kube-bastion connect team-a/sshd:22 --stdio' …`.
 * Ends with 0 when both directions ended normally, 1 otherwise (the reason on
 * stderr), so the program on the other end of the pipe sees a failure, never
 * a short stream that looks complete.
 */
import { Duplex } from 'node:stream';
import { carry } from './carry.js';
import type { ConnectTarget } from './target.js';
import { openTunnel, type TunnelClientOptions } from './tunnel-client.js';

export interface StdioOptions extends TunnelClientOptions {
  target: ConnectTarget;
  keepaliveMs: number;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  report(line: string): void;
}

/** Resolves with the exit status. */
export async function carryStdio(o: StdioOptions): Promise<number> {
  let ws;
  try {
    ws = await openTunnel(o.target.path, o);
  } catch (err) {
    o.report((err as Error).message);
    return 1;
  }
  const local = Duplex.from({ readable: o.input, writable: o.output });
  const carried = await carry(ws, local, { keepaliveMs: o.keepaliveMs });
  if (carried.message) o.report(carried.message);
  return carried.ok ? 0 : 1;
}
