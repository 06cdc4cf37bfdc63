/**
 * `kube-bastion token [--server URL] [--output token|exec-credential]`: a
 * valid access token on stdout — refreshed silently, one refresh at a time
 * across processes — for `curl -H "Authorization: Bearer $(kube-bastion token)"`,
 * or as a kubeconfig `exec` plugin's ExecCredential.
 */
import { credentialsFor } from '../credentials.js';
import { execCredential } from '../exec-credential.js';
import { TokenStore } from '../token-store.js';
import { parseCommand, runCommand, serverOrigin, UsageError } from './common.js';

const HELP = `Usage: kube-bastion token [--server URL] [--output token|exec-credential]

Prints a valid access token for the gateway, renewing it when needed.

  curl -H "Authorization: Bearer $(kube-bastion token)" https://bastion.example.com/api/v1/namespaces/team-a/services/web:http/proxy/

  --server URL                the gateway (default: the one you logged in to last)
  --output exec-credential    a client.authentication.k8s.io/v1 ExecCredential (kubeconfig exec plugin)
`;

export function token(argv: string[]): Promise<void> {
  return runCommand(async () => {
    const { values } = parseCommand(
      argv,
      { server: { type: 'string' }, output: { type: 'string', short: 'o' } },
      HELP,
    );
    const output = values.output ?? 'token';
    if (output !== 'token' && output !== 'exec-credential')
      throw new UsageError(`--output must be token or exec-credential\n\n${HELP}`);
    const store = new TokenStore();
    const credentials = await credentialsFor(await serverOrigin(values.server, store), store);
    process.stdout.write(
      output === 'token'
        ? `${credentials.accessToken}\n`
        : `${JSON.stringify(execCredential(credentials))}\n`,
    );
  });
}
