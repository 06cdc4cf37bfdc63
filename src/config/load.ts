/**
 * Loading a config, in layers that each run once the one before passed:
 *   parseConfig     `${ENV_VAR}` references, then the schema with every rule about
 *                   the config itself (schema.ts, cross-section.ts); pure;
 *   loadConfig      + an authentication method unless --insecure-no-auth, and the
 *                   files the config names, read and checked (named-files.ts);
 *   loadConfigFile  YAML, loadConfig, + the kubeconfig it names (kubeconfig-check.ts).
 * `serve` and `check-config` both load through loadConfigFile with the same
 * options, so they accept and refuse the same files; whatever the gateway then
 * builds from the config assumes it passed.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatPath, type ConfigIssue } from './issue.js';
import { kubeconfigIssues } from './kubeconfig-check.js';
import { readNamedFiles } from './named-files.js';
import { configSchema, type Config } from './schema.js';

export { formatPath } from './issue.js';

/** One problem in a config file, named by the path of the offending key. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n'));
    this.name = 'ConfigError';
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${VAR}` in every string value so secrets never need to be inline.
 * A reference to an unset variable is a problem reported with its path.
 */
function substituteEnv(
  value: unknown,
  path: PropertyKey[],
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined)
        problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...path, i], env, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, [...path, k], env, problems)]),
    );
  }
  return value;
}

export interface ParseOptions {
  /** Where `${VAR}` references are looked up (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface LoadOptions extends ParseOptions {
  /** Directory relative file paths in the config are resolved against (default: the working directory). */
  baseDir?: string;
  /**
   * The gateway runs with `--insecure-no-auth` (anonymous callers, loopback only), so a config
   * without any authentication method is accepted. Off by default: such a config is refused.
   */
  insecureNoAuth?: boolean;
}

/** serve refuses to start open to everyone by accident: some way to authenticate, or the explicit flag. */
function authenticationIssues(config: Config, insecureNoAuth: boolean): ConfigIssue[] {
  const a = config.authentication;
  if (insecureNoAuth || a.oidc !== undefined || a.jwt.length > 0 || a.serviceAccountTokens.enabled) return [];
  return [
    {
      path: ['authentication'],
      message:
        'no authentication method is configured: set authentication.oidc (browser sign-in), authentication.jwt ' +
        '(bearer tokens) or authentication.serviceAccountTokens.enabled; --insecure-no-auth (serve and ' +
        'check-config) accepts none, for local testing only',
    },
  ];
}

const addIssues = (ctx: z.RefinementCtx, issues: ConfigIssue[]) => {
  for (const { path, message } of issues) ctx.addIssue({ code: 'custom', path, message });
};

/** The schema; once it passed, the need for authentication and the files, reported together. */
function loadSchema(options: LoadOptions) {
  return configSchema.transform((config, ctx) => {
    addIssues(ctx, authenticationIssues(config, options.insecureNoAuth ?? false));
    return readNamedFiles(config, options.baseDir ?? process.cwd(), (issue) => addIssues(ctx, [issue]));
  });
}

function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: 'unknown key (check its spelling)',
      }));
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch that got furthest rather than "invalid input": fewest problems, then deepest.
      const depth = (errs: (typeof issue.errors)[number]) => Math.max(0, ...errs.map((e) => e.path.length));
      const best = issue.errors.reduce((a, b) =>
        a.length < b.length || (a.length === b.length && depth(a) >= depth(b)) ? a : b,
      );
      return best.map((sub) => ({ path: formatPath([...issue.path, ...sub.path]), message: sub.message }));
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
}

/** An unset `${VAR}` is the one problem at its path: what the empty value then fails is noise. */
function withEnvProblems(envProblems: ConfigProblem[], problems: ConfigProblem[]): ConfigProblem[] {
  const unset = new Set(envProblems.map((p) => p.path));
  return [...envProblems, ...problems.filter((p) => !unset.has(p.path))];
}

function validated(schema: z.ZodType<Config>, raw: unknown, env?: NodeJS.ProcessEnv): Config {
  const envProblems: ConfigProblem[] = [];
  const substituted = substituteEnv(raw ?? {}, [], env ?? process.env, envProblems);
  const result = schema.safeParse(substituted);
  const problems = withEnvProblems(envProblems, result.success ? [] : zodProblems(result.error));
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data!;
}

/**
 * The config object's own rules: its shape and every rule within and across sections
 * (CEL included). Pure: no file is read. Throws ConfigError listing every problem.
 * For a config the gateway will run with, use loadConfig or loadConfigFile.
 */
export function parseConfig(raw: unknown, options: ParseOptions = {}): Config {
  return validated(configSchema, raw, options.env);
}

/**
 * What the gateway runs with: parseConfig's rules, an authentication method (unless
 * insecureNoAuth), and the files the config names, read and checked, with their paths
 * made absolute and secrets filled in. A kubeconfig it names is read by loadConfigFile.
 */
export function loadConfig(raw: unknown, options: LoadOptions = {}): Config {
  return validated(loadSchema(options), raw, options.env);
}

/** Larger than any config a ConfigMap (1 MiB) can hold: refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The file's text, or a ConfigError: unreadable, or larger than MAX_CONFIG_BYTES. */
function readConfigText(file: string): string {
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES)
      throw new ConfigError([{ path: '', message: `${file} is larger than ${MAX_CONFIG_BYTES} bytes` }]);
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([
      { path: '', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` },
    ]);
  }
}

/** The YAML document as plain data; aliases that expand without bound (billion laughs) are refused. */
function yamlData(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message}` })));
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ path: '', message: `YAML: ${(err as Error).message}` }]);
  }
}

/** Reads, parses and validates a YAML config file, as serve and check-config do. */
export async function loadConfigFile(file: string, options: LoadOptions = {}): Promise<Config> {
  const raw = yamlData(readConfigText(file));
  const config = loadConfig(raw, { baseDir: dirname(resolve(file)), ...options });
  const issues = await kubeconfigIssues(config);
  if (issues.length > 0)
    throw new ConfigError(issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  return config;
}
