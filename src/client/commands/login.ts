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
import { parseCommand, runCommand, UsageError } from './common.js';

const HELP = `Usage: kube-bastion login <gateway-url> [--device] [--no-browser]

Signs this terminal in to a kube-bastion gateway through its browser sign-in.

  (default)      opens your browser at the gateway; confirm there, and the browser
                 hands a one-time code back to this program on 127.0.0.1
  --device       for SSH sessions and machines without a browser: prints a code
                 and a URL to open on any device (a phone, your laptop)
  --no-browser   print the URL instead of opening a browser ($BROWSER is respected)

Tokens are stored for exactly this gateway under $XDG_CONFIG_HOME/kube-bastion/
and are only ever sent to it. See also: kube-bastion token, whoami, logout.
`;

const clientName = () => {
  let user = 'someone';
  try {
    user = userInfo().username;
  } catch {
    // No user name on this system.
  }
  return `kube-bastion on ${user}@${hostname()}`;
};

export function login(argv: string[]): Promise<void> {
  return runCommand(async () => {
    const { values, positionals } = parseCommand(
      argv,
      { device: { type: 'boolean' }, 'no-browser': { type: 'boolean' } },
      HELP,
      1,
    );
    if (positionals.length === 0)
      throw new UsageError(`which gateway? e.g. kube-bastion login https://bastion.example.com\n\n${HELP}`);
    const origin = gatewayOrigin(positionals[0]);
    const store = new TokenStore();
    const print = (text: string) => process.stdout.write(text);
    const tokens = values.device
      ? await deviceLogin(origin, { clientName: clientName(), print })
      : await loopbackLogin(origin, {
          clientName: clientName(),
          async open(url) {
            print(`Opening your browser to sign in. If it does not open, open this page:\n\n    ${url}\n\n`);
            if (!values['no-browser']) await openBrowser(url);
          },
        });
    const previous = await store.load(origin);
    const saved = storedFrom(origin, tokens);
    await store.save(saved);
    // The sign-in this one replaces would otherwise stay valid until its end.
    if (previous?.refreshToken) await revokeToken(origin, previous.refreshToken).catch(() => undefined);
    print(
      `Signed in to ${origin} as ${tokens.identity.username}.\n` +
        `The sign-in lasts until ${formatUntil(saved.refreshTokenExpiresAt ?? saved.accessTokenExpiresAt)} unless renewed; \`kube-bastion logout\` ends it.\n`,
    );
  });
}
