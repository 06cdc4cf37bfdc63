/**
 * `kube-bastion connect`: TCP tunnels through the gateway.
 *
 *   kube-bastion connect team-a/postgres:5432 [--listen 127.0.0.1:15432]
 *   kube-bastion connect team-a/postgres:5432 team-a/redis:6379     (one free local port each)
 *   kube-bastion connect team-a/sshd:22 --stdio                      (ssh ProxyCommand)
 *
 * The gateway is `--server URL`, else the one of the last login; the token
 * only ever goes to that origin.
 */
import { parseArgs } from 'node:util';
import { GatewayOriginError, gatewayOrigin } from '../gateway-origin.js';
import { TokenStore, configDir } from '../token-store.js';
import { NotSignedInError, accessTokenFor } from '../connect/access-token.js';
import { listen, type Listening } from '../connect/listener.js';
import { carryStdio } from '../connect/stdio.js';
import { parseConnectTarget, TargetSyntaxError, type ConnectTarget } from '../connect/target.js';

const USAGE = `Usage:
  kube-bastion connect NAMESPACE/SERVICE[:PORT] [--listen [ADDR:]PORT] [--server URL]
  kube-bastion connect NAMESPACE/pod/NAME[:PORT] [--listen [ADDR:]PORT] [--server URL]
  kube-bastion connect TARGET TARGET…            one free local port each
  kube-bastion connect TARGET --stdio            stdin/stdout, e.g. for ssh:
      ssh -o ProxyCommand='kube-bastion connect team-a/sshd:22 --stdio' user@host

Each local connection gets its own tunnel, opened with your current token
(\`kube-bastion login\` first). Without --listen a free port on 127.0.0.1 is
chosen and printed.

Options:
      --listen [ADDR:]PORT  local address (loopback only; default 127.0.0.1:0)
      --stdio               carry stdin/stdout instead of listening
      --server URL          the gateway (default: the one you last logged in to)
  -h, --help                show this help
`;

/** Ping interval of the client's end: under the usual 60 s idle limit of load balancers. */
const KEEPALIVE_MS = 30_000;

class UsageError extends Error {}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** `15432`, `127.0.0.1:15432`, `[::1]:15432`, `localhost:0`: loopback only. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || port > 65535)
    throw new UsageError(`--listen "${text}": expected [ADDRESS:]PORT, e.g. 127.0.0.1:15432`);
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  if (!LOOPBACK_HOSTS.has(host) && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new UsageError(
      `--listen "${text}": only a loopback address (127.0.0.1, ::1, localhost): whoever can reach the port uses your identity`,
    );
  }
  return { host, port };
}

async function originFrom(server: string | undefined, store: TokenStore): Promise<string> {
  if (server !== undefined) return gatewayOrigin(server);
  const stored = await store.defaultOrigin();
  if (!stored)
    throw new NotSignedInError('no gateway known: run `kube-bastion login URL` first, or pass --server URL');
  return stored;
}

function parse(argv: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        listen: { type: 'string' },
        stdio: { type: 'boolean' },
        server: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    return { values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs the command; resolves with the exit status (the caller exits with it). */
export async function runConnect(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`kube-bastion connect: ${line}\n`);
  try {
    const { values, positionals } = parse(argv);
    if (values.help) return (out(USAGE), 0);
    if (positionals.length === 0) throw new UsageError('no target given');
    const targets = positionals.map(parseConnectTarget);
    if ((values.stdio || values.listen !== undefined) && targets.length > 1)
      throw new UsageError('--listen and --stdio take one target');
    if (values.stdio && values.listen !== undefined)
      throw new UsageError('--listen and --stdio exclude each other');
    const listenAt =
      values.listen !== undefined ? parseListen(values.listen) : { host: '127.0.0.1', port: 0 };
    const store = new TokenStore(configDir(env));
    const origin = await originFrom(values.server, store);
    await accessTokenFor(origin, store); // not signed in: say so now, not at the first connection
    const common = { origin, store, keepaliveMs: KEEPALIVE_MS };
    if (values.stdio) {
      const target = targets[0];
      const report = (line: string) => err(`${target.label}: ${line}`);
      return await carryStdio({ ...common, target, input: process.stdin, output: process.stdout, report });
    }
    return await serveListeners(targets, listenAt, common, out, err);
  } catch (e) {
    if (e instanceof UsageError) return (err(`${e.message}\n\n${USAGE}`), 2);
    if (e instanceof TargetSyntaxError) return (err(`${e.message}\n\n${USAGE}`), 2);
    if (e instanceof GatewayOriginError || e instanceof NotSignedInError) return (err(e.message), 1);
    throw e;
  }
}

async function serveListeners(
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

/** The CLI entry (cli.ts dispatches here): runs, then exits once stdout has taken every byte. */
export async function main(argv: string[]): Promise<void> {
  const status = await runConnect(argv);
  process.stdout.write('', () => process.exit(status));
}
