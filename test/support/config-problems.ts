/** What the config loader says about a config object: each problem as `path: message`, none when valid. */
import { ConfigError, parseConfig, type ParseOptions } from '../../src/config/load.js';

export function configProblems(raw: unknown, options: ParseOptions = { env: {} }): string[] {
  try {
    parseConfig(raw, options);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}
