/**
 * `kube-bastion connect`: TCP tunnels through the gateway.
 *
 *   kube-bastion connect team-a/postgres:5432 [--listen 127.0.0.1:15432]
 *   kube-bastion connect team-a/postgres:5432 team-a/redis:6379     (one free local port each)
 *   kube-bastion connect team-a/sshd:22 --stdio                      (ssh ProxyCommand)
 *
 * The gateway is `--server URL`, else the one of the last login; the token
 * only ever goes to that origin. The tunnel machinery (ws) is imported in run().
 */
import { defineCommand, UsageError, type OptionValues } from '../../commands/command.js';
import { accessTokenFor, NotSignedInError } from '../credentials.js';
import { GatewayCallError } from '../gateway-api.js';
import { GatewayOriginError } from '../gateway-origin.js';
import { TokenStore, configDir } from '../token-store.js';
import { UnsafeStoreError } from '../store-guard.js';
import { serverOrigin, terminalLine } from './common.js';
import { parseConnectTarget, TargetSyntaxError, type ConnectTarget } from '../connect/target.js';
import { tuneV8ForBulkBytes } from '../../v8-tuning.js';

/** Ping interval of the client's end: under the usual 60 s idle limit of load balancers. */
const KEEPALIVE_MS = 30_000;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

const OPTIONS = {
  listen: {
    type: 'string',
    value: '[ADDR:]PORT',
    help: 'connect: local address, loopback only (default 127.0.0.1:0, a free port, printed)',
  },
  stdio: { type: 'boolean', help: 'connect: carry stdin/stdout instead of listening (ssh ProxyCommand)' },
  server: {
    type: 'string',
    value: 'URL',
    help: 'connect: the gateway (default: the one you last logged in to)',
  },
} as const;

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

/** The command line's meaning; a wrong one is a UsageError (exit 2, with the usage). */
function plan(values: OptionValues<typeof OPTIONS>, positionals: string[]) {
  if (positionals.length === 0) throw new UsageError('connect: no target given');
  let targets: ConnectTarget[];
  try {
    targets = positionals.map(parseConnectTarget);
  } catch (e) {
    if (e instanceof TargetSyntaxError) throw new UsageError(e.message);
    throw e;
  }
  if ((values.stdio || values.listen !== undefined) && targets.length > 1)
    throw new UsageError('--listen and --stdio take one target');
  if (values.stdio && values.listen !== undefined)
    throw new UsageError('--listen and --stdio exclude each other');
  const listenAt = values.listen !== undefined ? parseListen(values.listen) : { host: '127.0.0.1', port: 0 };
  return { targets, listenAt, stdio: values.stdio ?? false };
}

/**
 * Runs connect once its command line is valid; resolves with the exit status.
 * Failures of the work (not signed in, a refused tunnel under --stdio) are one
 * line on stderr and status 1.
 */
export async function runConnect(
  values: OptionValues<typeof OPTIONS>,
  positionals: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { targets, listenAt, stdio } = plan(values, positionals);
  // Lines carry the gateway's words (refusals, close reasons): each is made printable as it is written.
  const out = (line: string) => process.stdout.write(`${terminalLine(line)}\n`);
  const err = (line: string) => process.stderr.write(`kube-bastion connect: ${terminalLine(line)}\n`);
  try {
    const store = new TokenStore(configDir(env));
    const origin = await serverOrigin(values.server, store);
    await accessTokenFor(origin, store); // not signed in: say so now, not at the first connection
    const common = { origin, store, keepaliveMs: KEEPALIVE_MS };
    if (stdio) {
      const { carryStdio } = await import('../connect/stdio.js');
      const target = targets[0];
      const report = (line: string) => err(`${target.label}: ${line}`);
      return await carryStdio({ ...common, target, input: process.stdin, output: process.stdout, report });
    }
    const { serveListeners } = await import('../connect/serve-listeners.js');
    return await serveListeners(targets, listenAt, common, out, err);
  } catch (e) {
    const expected = [GatewayOriginError, NotSignedInError, GatewayCallError, UnsafeStoreError];
    if (expected.some((k) => e instanceof k)) return (err((e as Error).message), 1);
    throw e;
  }
}

export const command = defineCommand({
  usage:
    'connect NAMESPACE/SERVICE[:PORT] | NAMESPACE/pod/NAME[:PORT] … [--listen [ADDR:]PORT | --stdio] [--server URL]',
  summary:
    'TCP tunnels to a Service or Pod port through the gateway, one local port per target (psql, redis-cli; --stdio for ssh ProxyCommand)',
  options: OPTIONS,
  maxPositionals: Number.MAX_SAFE_INTEGER,
  async run(values, positionals) {
    tuneV8ForBulkBytes();
    const status = await runConnect(values, positionals);
    // Exits once stdout has taken every byte (stdin may still be open under --stdio).
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(status);
  },
});
