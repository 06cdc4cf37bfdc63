/**
 * `kube-bastion token [--server URL] [--output token|exec-credential]`: a
 * valid access token on stdout — refreshed silently, one refresh at a time
 * across processes — for `curl -H "Authorization: Bearer $(kube-bastion token)"`,
 * or as a kubeconfig `exec` plugin's ExecCredential.
 */
import { defineCommand, UsageError } from '../../commands/command.js';
import { credentialsFor } from '../credentials.js';
import { execCredential } from '../exec-credential.js';
import { TokenStore } from '../token-store.js';
import { runCommand, SERVER_OPTION, serverOrigin } from './common.js';

export const command = defineCommand({
  usage: 'token [--server URL] [--output token|exec-credential]',
  summary:
    'print a valid access token, renewed when needed: curl -H "Authorization: Bearer $(kube-bastion token)" …',
  options: {
    server: SERVER_OPTION,
    output: {
      type: 'string',
      short: 'o',
      value: 'FORMAT',
      help: 'token: token | exec-credential (a kubeconfig exec plugin’s ExecCredential); whoami: text | json',
    },
  },
  run: (values) =>
    runCommand(async () => {
      const output = values.output ?? 'token';
      if (output !== 'token' && output !== 'exec-credential')
        throw new UsageError('--output must be token or exec-credential');
      const store = new TokenStore();
      const credentials = await credentialsFor(await serverOrigin(values.server, store), store);
      process.stdout.write(
        output === 'token'
          ? `${credentials.accessToken}\n`
          : `${JSON.stringify(execCredential(credentials))}\n`,
      );
    }),
});
