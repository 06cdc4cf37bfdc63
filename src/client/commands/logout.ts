/**
 * `kube-bastion logout [--server URL] [--local-only]`: ends the sign-in at
 * the gateway (its whole token family), then forgets it here. When the
 * gateway cannot be reached the credentials are kept, so logging out can be
 * tried again — deleting them would leave a valid sign-in behind.
 */
import { revokeToken } from '../gateway-api.js';
import { TokenStore } from '../token-store.js';
import { parseCommand, runCommand, serverOrigin } from './common.js';

const HELP = `Usage: kube-bastion logout [--server URL] [--local-only]

Ends this terminal's sign-in at the gateway (every token of it stops working),
then deletes the stored credentials.

  --server URL    the gateway (default: the one you logged in to last)
  --local-only    only delete the stored credentials (the gateway cannot be reached);
                  they stay valid there until they expire
`;

export function logout(argv: string[]): Promise<void> {
  return runCommand(async () => {
    const { values } = parseCommand(
      argv,
      { server: { type: 'string' }, 'local-only': { type: 'boolean' } },
      HELP,
    );
    const store = new TokenStore();
    const origin = await serverOrigin(values.server, store);
    const stored = await store.load(origin);
    if (!stored) {
      process.stdout.write(`Not signed in to ${origin}.\n`);
      return;
    }
    if (!values['local-only']) await revokeToken(origin, stored.refreshToken ?? stored.accessToken);
    await store.delete(origin);
    process.stdout.write(
      values['local-only']
        ? `Forgot the sign-in to ${origin} here (it was not revoked at the gateway).\n`
        : `Signed out of ${origin}.\n`,
    );
  });
}
