/**
 * What the terminal commands share: argument parsing with `--help`, the
 * gateway a command talks to (`--server`, else the one logged in to last),
 * and one way to report a failure (a line on stderr, exit 1; usage errors exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatewayCallError } from '../gateway-api.js';
import { GatewayOriginError, gatewayOrigin } from '../gateway-origin.js';
import { NotSignedInError } from '../credentials.js';
import { LoginCancelledError } from '../loopback-login.js';
import { LockTimeoutError } from '../refresh-lock.js';
import type { TokenStore } from '../token-store.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses `argv`; prints `help` and exits 0 on `--help`. */
export function parseCommand<O extends Options>(argv: string[], options: O, help: string, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals > 0,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help);
    process.exit(0);
  }
  if (parsed.positionals.length > positionals)
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"\n\n${help}`);
  return parsed;
}

/** The gateway: `--server` as typed, else the origin of the last login. */
export async function serverOrigin(server: string | undefined, store: TokenStore): Promise<string> {
  if (server !== undefined) return gatewayOrigin(server);
  const origin = await store.defaultOrigin();
  if (!origin) throw new NotSignedInError('');
  return origin;
}

const KNOWN = [GatewayCallError, GatewayOriginError, NotSignedInError, LoginCancelledError, LockTimeoutError];

/** Runs a command; expected failures become one line on stderr and exit code 1 (2 for usage). */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kube-bastion: ${err.message}`.replace(/\n*$/, '\n'));
      process.exit(2);
    }
    if (!KNOWN.some((k) => err instanceof k)) throw err;
    process.stderr.write(`kube-bastion: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
