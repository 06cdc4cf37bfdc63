/**
 * How `serve` and `check-config` read `--config`: the same loader with the same
 * options, so a file check-config accepts is a file serve starts with, and a
 * file it refuses is refused by serve with the same lines.
 */
import type { Config } from '../config/schema.js';

export const CONFIG_OPTION = {
  type: 'string',
  short: 'c',
  value: 'FILE',
  help: 'configuration file (YAML); see docs/configuration.md',
} as const;

export const INSECURE_NO_AUTH_OPTION = {
  type: 'boolean',
  help:
    'no authentication method needed (local testing only): serve listens on 127.0.0.1 only and every ' +
    'caller is anonymous; check-config accepts such a file as serve would',
} as const;

/** Loads and checks the config; on a problem prints each with its key's path to stderr and exits 1. */
export async function loadConfigOrExit(file: string | undefined, insecureNoAuth: boolean): Promise<Config> {
  const { ConfigError, loadConfig, loadConfigFile } = await import('../config/load.js');
  try {
    return file ? await loadConfigFile(file, { insecureNoAuth }) : loadConfig({}, { insecureNoAuth });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${file ?? 'config'}: invalid configuration:\n`);
    for (const p of err.problems) process.stderr.write(`  ${p.path ? `${p.path}: ` : ''}${p.message}\n`);
    process.exit(1);
  }
}
