/**
 * `kube-bastion login <gateway-url> [--device] [--no-browser]`: signs this
 * terminal in through the gateway's browser sign-in and stores the tokens
 * under the exact origin typed (token-store.ts). A sign-in this replaces is
 * revoked at the gateway.
 */
import { hostname, userInfo } from 'node:os';
import { storedFrom } from '../credentials.js';
import { deviceLogin } from '../device-login.js';
import { openBrowser } from '../browser.js';
import { revokeToken } from '../gateway-api.js';
import { gatewayOrigin } from '../gateway-origin.js';
import { loopbackLogin } from '../loopback-login.js';
import { TokenStore } from '../token-store.js';
import { formatUntil } from './whoami.js';
import { printable } from '../printable.js';
import { defineCommand, UsageError } from '../../commands/command.js';
import { runCommand } from './common.js';

const clientName = () => {
  let user = 'someone';
  try {
    user = userInfo().username;
  } catch {
    // No user name on this system.
  }
  return `kube-bastion on ${user}@${hostname()}`;
};

export const command = defineCommand({
  usage: 'login <gateway-url> [--device] [--no-browser]',
  summary:
    'sign this terminal in to a gateway through its browser sign-in; tokens are kept for exactly that gateway (docs/terminal.md)',
  options: {
    device: {
      type: 'boolean',
      help: 'login: no browser here (SSH, headless): prints a code and a URL to open on any device',
    },
    'no-browser': { type: 'boolean', help: 'login: print the sign-in URL instead of opening a browser' },
  },
  maxPositionals: 1,
  run: (values, positionals) =>
    runCommand(async () => {
      if (positionals.length === 0)
        throw new UsageError('which gateway? e.g. kube-bastion login https://bastion.example.com');
      const origin = gatewayOrigin(positionals[0]);
      const store = new TokenStore();
      const print = (text: string) => process.stdout.write(text);
      const tokens = values.device
        ? await deviceLogin(origin, { clientName: clientName(), print })
        : await loopbackLogin(origin, {
            clientName: clientName(),
            async open(url) {
              print(
                `Opening your browser to sign in. If it does not open, open this page:\n\n    ${url}\n\n`,
              );
              if (!values['no-browser']) await openBrowser(url);
            },
          });
      const previous = await store.load(origin);
      const saved = storedFrom(origin, tokens);
      await store.save(saved);
      // The sign-in this one replaces would otherwise stay valid until its end.
      if (previous?.refreshToken) await revokeToken(origin, previous.refreshToken).catch(() => undefined);
      print(
        `Signed in to ${origin} as ${printable(tokens.identity.username)}.\n` +
          `The sign-in lasts until ${formatUntil(saved.refreshTokenExpiresAt ?? saved.accessTokenExpiresAt)} unless renewed; \`kube-bastion logout\` ends it.\n`,
      );
    }),
});
