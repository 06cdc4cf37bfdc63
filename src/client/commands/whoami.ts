/**
 * `kube-bastion whoami [--server URL] [--output json]`: who the gateway
 * says this terminal is, asked with a valid (refreshed if needed) token.
 */
import { defineCommand, UsageError } from '../../commands/command.js';
import { accessTokenFor } from '../credentials.js';
import { whoami as askWhoami } from '../gateway-api.js';
import { TokenStore } from '../token-store.js';
import { printable, terminalJSON } from '../printable.js';
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
      if (output === 'json') return void process.stdout.write(`${terminalJSON(me)}\n`);
      // The names come from the IdP's claims: printable, so a user name cannot drive the terminal.
      const [username, email, method] = [me.username, me.email ?? '', me.method].map((v) => printable(v));
      const groups = (Array.isArray(me.groups) ? me.groups : []).map((g) => printable(String(g)));
      process.stdout.write(
        `${username}${email && me.email !== me.username ? ` <${email}>` : ''}\n` +
          `groups: ${groups.join(', ') || '(none)'}\n` +
          `gateway: ${origin} (signed in with ${method})\n`,
      );
    }),
});
