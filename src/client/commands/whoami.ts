/**
 * `kube-bastion whoami [--server URL] [--output json]`: who the gateway
 * says this terminal is, asked with a valid (refreshed if needed) token.
 */
import { accessTokenFor } from '../credentials.js';
import { whoami as askWhoami } from '../gateway-api.js';
import { TokenStore } from '../token-store.js';
import { parseCommand, runCommand, serverOrigin, UsageError } from './common.js';

const HELP = `Usage: kube-bastion whoami [--server URL] [--output text|json]

Prints who the gateway says you are, with your groups.

  --server URL    the gateway (default: the one you logged in to last)
  --output json   the gateway's answer as JSON
`;

/** `2026-12-03 14:03 UTC`. */
export const formatUntil = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function whoami(argv: string[]): Promise<void> {
  return runCommand(async () => {
    const { values } = parseCommand(
      argv,
      { server: { type: 'string' }, output: { type: 'string', short: 'o' } },
      HELP,
    );
    const output = values.output ?? 'text';
    if (output !== 'text' && output !== 'json')
      throw new UsageError(`--output must be text or json\n\n${HELP}`);
    const store = new TokenStore();
    const origin = await serverOrigin(values.server, store);
    const me = await askWhoami(origin, await accessTokenFor(origin, store));
    if (output === 'json') return void process.stdout.write(`${JSON.stringify(me, null, 2)}\n`);
    process.stdout.write(
      `${me.username}${me.email && me.email !== me.username ? ` <${me.email}>` : ''}\n` +
        `groups: ${me.groups.join(', ') || '(none)'}\n` +
        `gateway: ${origin} (signed in with ${me.method})\n`,
    );
  });
}
