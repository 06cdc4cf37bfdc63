/**
 * `kube-bastion connect` without --stdio: a local listener per target, each
 * line "Forwarding from …" printed once it listens, until SIGINT/SIGTERM.
 */
import type { TokenStore } from '../token-store.js';
import { listen, type Listening } from './listener.js';
import type { ConnectTarget } from './target.js';

export async function serveListeners(
  targets: ConnectTarget[],
  at: { host: string; port: number },
  common: { origin: string; store: TokenStore; keepaliveMs: number },
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const listening: Listening[] = [];
  try {
    for (const target of targets) {
      const report = (line: string) => err(`${target.label}: ${line}`);
      const l = await listen({ ...common, target, host: at.host, port: at.port, report });
      listening.push(l);
      const shown = l.address.includes(':') ? `[${l.address}]` : l.address;
      out(`Forwarding from ${shown}:${l.port} -> ${target.label} via ${common.origin}`);
    }
  } catch (e) {
    await Promise.all(listening.map((l) => l.close()));
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      err(`cannot listen on ${at.host}:${at.port}: ${code}`);
      return 1;
    }
    throw e;
  }
  out('Press Ctrl+C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await Promise.all(listening.map((l) => l.close()));
  return 0;
}
