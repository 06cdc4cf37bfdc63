#!/usr/bin/env node
/**
 * kube-bastion command line: argv → command (serve | check-config | demo).
 */
import { parseArgs } from 'node:util';
import { checkAuthenticationConfig } from './authn/index.js';
import { ConfigError, loadConfigFile, parseConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { createLogger } from './observability/logger.js';
import { VERSION } from './version.js';

const HELP = `kube-bastion ${VERSION} — an identity-aware gateway to the services, pods and nodes of a Kubernetes cluster

Usage:
  kube-bastion [serve] --config FILE [--insecure-no-auth]
  kube-bastion check-config --config FILE
  kube-bastion demo [--port PORT]

Commands:
  serve          run the gateway (default)
  check-config   validate a config file; prints every error with its path; exit 1 on error
  demo           try it out: embedded sign-in (users alice and bob) and sample services, no cluster needed

Options:
  -c, --config FILE       configuration file (YAML); see docs/configuration.md
      --insecure-no-auth  serve without authentication on 127.0.0.1 only (local testing)
  -p, --port PORT         demo: public port (default 8080)
  -h, --help              show this help
  -v, --version           print the version
`;

function fail(message: string): never {
  process.stderr.write(`kube-bastion: ${message}\n`);
  process.exit(2);
}

function readConfig(file: string | undefined): Config {
  try {
    const config = file ? loadConfigFile(file) : parseConfig({});
    // CEL expressions compile only here; report them with their paths like schema errors.
    const problems = checkAuthenticationConfig(config);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${file ?? 'config'}: invalid configuration:\n`);
      for (const p of err.problems) process.stderr.write(`  ${p.path ? `${p.path}: ` : ''}${p.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function serve(config: Config, insecureNoAuth: boolean): Promise<void> {
  const { createGateway } = await import('./server/gateway.js');
  const logger = createLogger(config.logging);
  let gateway;
  try {
    gateway = await createGateway({ config, logger, insecureNoAuth });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot start');
    process.exit(1);
  }
  const { url, adminURL } = await gateway.listen();
  logger.info({ url, adminURL, version: VERSION }, 'kube-bastion listening');
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
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'connect') return (await import('./client/commands/connect.js')).main(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'insecure-no-auth': { type: 'boolean' },
        port: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  const command = positionals[0] ?? 'serve';
  if (positionals.length > 1) fail(`unexpected argument "${positionals[1]}"\n\n${HELP}`);

  switch (command) {
    case 'serve':
      return serve(readConfig(values.config), values['insecure-no-auth'] ?? false);
    case 'check-config': {
      if (!values.config) fail('check-config needs --config FILE');
      readConfig(values.config);
      process.stdout.write(`${values.config}: configuration is valid\n`);
      return;
    }
    case 'demo': {
      const { runDemo } = await import('./demo/index.js');
      const port = values.port === undefined ? 8080 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port "${values.port}"`);
      return runDemo({ port });
    }
    default:
      fail(`unknown command "${command}"\n\n${HELP}`);
  }
}

await main(process.argv.slice(2));
