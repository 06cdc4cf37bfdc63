/** `kube-bastion check-config`: everything serve would refuse, found without starting it. */
import { CONFIG_OPTION, INSECURE_NO_AUTH_OPTION, loadConfigOrExit } from './config-file.js';
import { defineCommand, UsageError } from './command.js';
import { configWarnings, warningLine } from '../config/warnings.js';

export const command = defineCommand({
  usage: 'check-config --config FILE [--insecure-no-auth]',
  summary:
    'validate a config file and the files it names, as serve loads them; prints every error with its path',
  options: {
    config: CONFIG_OPTION,
    'insecure-no-auth': INSECURE_NO_AUTH_OPTION,
  },
  async run(values) {
    if (!values.config) throw new UsageError('check-config needs --config FILE');
    const config = await loadConfigOrExit(values.config, values['insecure-no-auth'] ?? false);
    for (const w of configWarnings(config)) process.stderr.write(`${values.config}: ${warningLine(w)}\n`);
    process.stdout.write(`${values.config}: configuration is valid\n`);
  },
});
