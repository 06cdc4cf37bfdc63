/**
 * `kube-bastion whoami [--server URL] [--output json]`: who the gateway
 * says this terminal is, asked with a valid (refreshed if needed) token.
 */
import { defineCommand, UsageError } from '../../commands/command.js';
import { accessTokenFor } from '../credentials.js';
import { whoami as askWhoami } from '../gateway-api.js';
import { TokenStore } from '../token-store.js';
import { runCommand, SERVER_OPTION, serverOrigin } from './common.js';

/** `2026-12-03 14:03 UTC`. */
export const formatUntil = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export const command = defineCommand({
  usage: 'whoami [--server URL] [--output text|json]',
  summary: 'who the gateway says you are, with your groups',
  options: {
    server: SERVER_OPTION,
    output: { type: 'string', short: 'o', value: 'FORMAT', help: 'text | json (the gateway’s answer)' },
  },
  run: (values) =>
    runCommand(async () => {
      const output = values.output ?? 'text';
      if (output !== 'text' && output !== 'json') throw new UsageError('--output must be text or json');
      const store = new TokenStore();
      const origin = await serverOrigin(values.server, store);
      const me = await askWhoami(origin, await accessTokenFor(origin, store));
      if (output === 'json') return void process.stdout.write(`${JSON.stringify(me, null, 2)}\n`);
      process.stdout.write(
        `${me.username}${me.email && me.email !== me.username ? ` <${me.email}>` : ''}\n` +
          `groups: ${me.groups.join(', ') || '(none)'}\n` +
          `gateway: ${origin} (signed in with ${me.method})\n`,
      );
    }),
});
