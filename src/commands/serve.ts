/** `kube-bastion serve`: run the gateway until SIGTERM or SIGINT. */
import { CONFIG_OPTION, INSECURE_NO_AUTH_OPTION, loadConfigOrExit } from './config-file.js';
import { defineCommand } from './command.js';
import { configWarnings } from '../config/warnings.js';
import { tuneV8ForBulkBytes, tuneV8ForSteadyLoad } from '../v8-tuning.js';

export const command = defineCommand({
  usage: '[serve] --config FILE [--insecure-no-auth]',
  summary: 'run the gateway (default)',
  options: {
    config: CONFIG_OPTION,
    'insecure-no-auth': INSECURE_NO_AUTH_OPTION,
  },
  async run(values) {
    const insecureNoAuth = values['insecure-no-auth'] ?? false;
    const config = await loadConfigOrExit(values.config, insecureNoAuth);
    // Only where tunnels move bulk bytes: on plain HTTP the flag measured 2–6 % dearer (docs/performance.md).
    if (config.tunnels.enabled) tuneV8ForBulkBytes();
    const [{ createGateway }, { createLogger }, { VERSION }] = await Promise.all([
      import('../server/gateway.js'),
      import('../observability/logger.js'),
      import('../version.js'),
    ]);
    const logger = createLogger(config.logging);
    for (const w of configWarnings(config)) logger.warn({ key: w.path }, w.message);
    let gateway;
    let urls;
    try {
      gateway = await createGateway({ config, logger, insecureNoAuth });
      urls = await gateway.listen();
      tuneV8ForSteadyLoad();
    } catch (err) {
      // The config was checked at load: what is left is the environment (a port in use, no cluster credentials).
      logger.fatal({ err: (err as Error).message }, 'cannot start');
      process.exit(1);
    }
    logger.info({ ...urls, version: VERSION }, 'kube-bastion listening');
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'signal received');
      gateway.shutdown().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  },
});
