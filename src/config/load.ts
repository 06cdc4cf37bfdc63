import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { sameIssuer } from './issuer-url.js';
import { configSchema, type Config } from './schema.js';

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

/** `authentication.jwt[1].issuer.url` from zod's `['authentication','jwt',1,'issuer','url']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
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

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory relative file paths in the config are resolved against. */
  baseDir?: string;
}

/** Validates an already-parsed config object. Throws ConfigError listing every problem. */
export function parseConfig(raw: unknown, options: LoadOptions = {}): Config {
  const problems: ConfigProblem[] = [];
  const substituted = substituteEnv(raw ?? {}, [], options.env ?? process.env, problems);
  const result = configSchema.safeParse(substituted);
  if (!result.success) problems.push(...zodProblems(result.error));
  if (problems.length > 0) throw new ConfigError(problems);
  const config = result.data!;
  problems.push(...semanticProblems(config));
  if (problems.length > 0) throw new ConfigError(problems);
  return resolveSecretFiles(config, options.baseDir ?? process.cwd());
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

/** Rules that span several keys. */
function semanticProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const issuers = new Set<string>();
  config.authentication.jwt.forEach((entry, i) => {
    if (issuers.has(entry.issuer.url)) {
      problems.push({ path: `authentication.jwt[${i}].issuer.url`, message: 'issuer url must be unique' });
    }
    issuers.add(entry.issuer.url);
    // Its tokens would be the identity assertions every upstream receives (token-type confusion).
    if (sameIssuer(entry.issuer.url, config.publicURL)) {
      problems.push({
        path: `authentication.jwt[${i}].issuer.url`,
        message:
          "is this gateway's own publicURL: its identity assertions are for upstreams and are never accepted as credentials",
      });
    }
  });
  const oidc = config.authentication.oidc;
  if (oidc && !config.authentication.session) {
    problems.push({ path: 'authentication.session', message: 'required when authentication.oidc is set' });
  }
  const s = config.authentication.session;
  if (s && !s.secret && !s.secretFile) {
    problems.push({ path: 'authentication.session.secret', message: 'set secret or secretFile' });
  }
  if (s?.secret !== undefined && s.secret.length < 32) {
    problems.push({ path: 'authentication.session.secret', message: 'must be at least 32 characters' });
  }
  if (config.kubernetes === 'none') {
    if (config.authentication.serviceAccountTokens.enabled) {
      problems.push({
        path: 'authentication.serviceAccountTokens.enabled',
        message: 'needs a cluster (kubernetes is "none")',
      });
    }
    if (config.authorization.kubernetesRBAC.enabled) {
      problems.push({
        path: 'authorization.kubernetesRBAC.enabled',
        message: 'needs a cluster (kubernetes is "none")',
      });
    }
  }
  return problems;
}

function readSecret(file: string, baseDir: string, path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(resolve(baseDir, file));
  } catch (err) {
    throw new ConfigError([
      { path, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` },
    ]);
  }
  // Random bytes read as UTF-8 turn into U+FFFD and lose most of their entropy: a secret is text.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError([
      {
        path,
        message: `${file} is not UTF-8 text; write the secret as text, e.g. the output of \`openssl rand -base64 48\``,
      },
    ]);
  }
  return text.trim();
}

/** Reads `...File` secrets once at load time so the rest of the code sees plain values. */
function resolveSecretFiles(config: Config, baseDir: string): Config {
  const oidc = config.authentication.oidc;
  if (oidc?.clientSecretFile) {
    oidc.clientSecret = readSecret(oidc.clientSecretFile, baseDir, 'authentication.oidc.clientSecretFile');
  }
  const session = config.authentication.session;
  if (session?.secretFile) {
    session.secret = readSecret(session.secretFile, baseDir, 'authentication.session.secretFile');
    if (session.secret.length < 32) {
      throw new ConfigError([
        { path: 'authentication.session.secretFile', message: 'secret must be at least 32 characters' },
      ]);
    }
  }
  return config;
}

/** Larger than any config a ConfigMap (1 MiB) can hold: refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Reads, parses and validates a YAML config file. */
export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES)
      throw new ConfigError([{ path: '', message: `${file} is larger than ${MAX_CONFIG_BYTES} bytes` }]);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([
      { path: '', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` },
    ]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message}` })));
  }
  let raw: unknown;
  try {
    // Aliases that expand without bound (billion laughs) are refused by the parser here.
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ path: '', message: `YAML: ${(err as Error).message}` }]);
  }
  return parseConfig(raw, { baseDir: dirname(resolve(file)), ...options });
}
