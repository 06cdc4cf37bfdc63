/**
 * What the terminal commands share: the `--server` flag, the gateway a
 * command talks to (`--server`, else the one logged in to last), and one way
 * to report an expected failure (a line on stderr, exit 1). Usage errors are
 * `UsageError`s (commands/command.ts): cli.ts prints them with the usage, exit 2.
 */
import type { CommandOption } from '../../commands/command.js';
import { GatewayCallError } from '../gateway-api.js';
import { GatewayOriginError, gatewayOrigin } from '../gateway-origin.js';
import { NotSignedInError } from '../credentials.js';
import { LoginCancelledError } from '../loopback-login.js';
import { LockTimeoutError } from '../refresh-lock.js';
import type { TokenStore } from '../token-store.js';
import { UnsafeStoreError } from '../store-guard.js';
import { printable } from '../printable.js';

export const SERVER_OPTION = {
  type: 'string',
  value: 'URL',
  help: 'the gateway (default: the one you logged in to last)',
} as const satisfies CommandOption;

/** The gateway: `--server` as typed, else the origin of the last login. */
export async function serverOrigin(server: string | undefined, store: TokenStore): Promise<string> {
  if (server !== undefined) return gatewayOrigin(server);
  const origin = await store.defaultOrigin();
  if (!origin) throw new NotSignedInError('');
  return origin;
}

/** The longest line a command prints about a failure. */
const LINE_CHARS = 1000;

/** A whole line for the terminal: whatever it carries of a server's text, it moves no cursor (printable.ts). */
export const terminalLine = (text: string) => printable(text, LINE_CHARS);

const KNOWN = [
  GatewayCallError,
  GatewayOriginError,
  NotSignedInError,
  LoginCancelledError,
  LockTimeoutError,
  UnsafeStoreError,
];

/** Runs a command; expected failures become one line on stderr and exit code 1. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (!KNOWN.some((k) => err instanceof k)) throw err;
    process.stderr.write(`kube-bastion: ${terminalLine((err as Error).message)}\n`);
    process.exit(1);
  }
}
