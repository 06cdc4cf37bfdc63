/**
 * `kube-bastion logout [--server URL] [--local-only]`: ends the sign-in at
 * the gateway (its whole token family), then forgets it here. When the
 * gateway cannot be reached the credentials are kept, so logging out can be
 * tried again — deleting them would leave a valid sign-in behind.
 */
import { defineCommand } from '../../commands/command.js';
import { revokeToken } from '../gateway-api.js';
import { TokenStore } from '../token-store.js';
import { runCommand, SERVER_OPTION, serverOrigin } from './common.js';

export const command = defineCommand({
  usage: 'logout [--server URL] [--local-only]',
  summary: "end this terminal's sign-in at the gateway (every token of it stops working) and forget it here",
  options: {
    server: SERVER_OPTION,
    'local-only': {
      type: 'boolean',
      help: 'logout: only delete the stored credentials (the gateway cannot be reached); they stay valid there until they expire',
    },
  },
  run: (values) =>
    runCommand(async () => {
      const store = new TokenStore();
      const origin = await serverOrigin(values.server, store);
      const stored = await store.load(origin);
      if (!stored) return void process.stdout.write(`Not signed in to ${origin}.\n`);
      if (!values['local-only']) await revokeToken(origin, stored.refreshToken ?? stored.accessToken);
      await store.delete(origin);
      process.stdout.write(
        values['local-only']
          ? `Forgot the sign-in to ${origin} here (it was not revoked at the gateway).\n`
          : `Signed out of ${origin}.\n`,
      );
    }),
});
