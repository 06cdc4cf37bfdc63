/**
 * Generates the configuration reference from the one config schema, so the docs
 * and the chart cannot drift from what the gateway accepts:
 *   - docs/configuration.md: every key with its type, default and description,
 *     and a YAML example where the schema gives one (`describe(..., examples)`);
 *   - the `config` part of helm/kube-bastion/values.schema.json, so `helm install`
 *     rejects a typo'd config key before anything reaches the cluster.
 *
 * `npm run docs:config` writes both; `--check` only reports whether they are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { z } from 'zod';
import { configSchema, type ConfigInput } from '../src/config/schema.js';

type JSONSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  anyOf?: JSONSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JSONSchema;
  [key: string]: unknown;
};

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
export const CONFIG_DOC = resolve(ROOT, 'docs/configuration.md');
export const VALUES_SCHEMA = resolve(ROOT, 'helm/kube-bastion/values.schema.json');

/** Go-style durations as src/config/duration.ts accepts them. */
export const DURATION_PATTERN = '^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h))+)$';
const ENV_REF_PATTERN = '^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$';

/** duration() marks its inner schema with this description; the outer key usually overrides it. */
function isDuration(schema: z.core.$ZodType): boolean {
  const def = schema._zod.def as { type: string; in?: z.core.$ZodType };
  if (def.type !== 'pipe' || !def.in) return false;
  const description = z.globalRegistry.get(def.in)?.description;
  return description?.startsWith('duration such as') ?? false;
}

/** The JSON Schema of what a config file may contain (input side: defaults are optional). */
export function configJSONSchema(): JSONSchema {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
    override(ctx) {
      if (isDuration(ctx.zodSchema)) {
        ctx.jsonSchema.pattern = DURATION_PATTERN;
        ctx.jsonSchema.format = 'duration';
      }
      // zod drops `examples` in input mode from anything holding a transform (every object with
      // a duration), although an example of the input is exactly what a reader wants.
      const examples = z.globalRegistry.get(ctx.zodSchema)?.examples;
      if (Array.isArray(examples)) ctx.jsonSchema.examples = examples;
    },
  }) as JSONSchema;
  delete schema.$schema;
  return schema;
}

function at(schema: JSONSchema, path: string[]): JSONSchema | undefined {
  let node: JSONSchema | undefined = schema;
  for (const key of path) node = key === '[]' ? node?.items : node?.properties?.[key];
  return node;
}

/**
 * The config schema as the chart's values see it: the same keys, except that the
 * secrets which would land in the ConfigMap may only be `${ENV_VAR}` references.
 * `format` is dropped: Helm's validator would treat `duration` as ISO 8601.
 * `examples` are dropped too: they are docs/configuration.md's, and would only bloat the chart.
 */
export function valuesConfigSchema(): JSONSchema {
  const schema = JSON.parse(JSON.stringify(configJSONSchema()), (key, value: unknown) =>
    (key === 'format' && typeof value === 'string') || (key === 'examples' && Array.isArray(value))
      ? undefined
      : value,
  ) as JSONSchema;
  const envOnly =
    'only a ${ENV_VAR} reference here: put the secret in `secrets` (it would land in a ConfigMap)';
  for (const path of [
    ['authentication', 'oidc', 'clientSecret'],
    ['authentication', 'session', 'secret'],
    ['authentication', 'session', 'previousSecrets', '[]'],
  ]) {
    const node = at(schema, path);
    if (!node) throw new Error(`config schema has no ${path.join('.')}; update valuesConfigSchema()`);
    node.pattern = ENV_REF_PATTERN;
    node.description = envOnly;
  }
  schema.description = 'the config file (docs/configuration.md); generated from src/config/schema.ts';
  return schema;
}

// --- Markdown ------------------------------------------------------------------

export interface Row {
  key: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
  examples: unknown[];
}

function typeOf(s: JSONSchema): string {
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  if (s.format === 'duration') return 'duration';
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties && typeof s.additionalProperties === 'object') {
    return `map of ${typeOf(s.additionalProperties)}`;
  }
  if (s.format === 'uri') return 'URL';
  if (s.type === 'integer' && s.minimum !== undefined && s.maximum !== undefined) {
    return `integer ${s.minimum}–${s.maximum}`;
  }
  return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
}

function defaultOf(s: JSONSchema): string {
  const value = s.default;
  if (value === undefined) return '';
  if (value && typeof value === 'object' && Object.keys(value).length === 0) return '';
  return `\`${JSON.stringify(value)}\``;
}

function collect(s: JSONSchema, key: string, required: boolean, rows: Row[]): void {
  rows.push({
    key,
    type: typeOf(s),
    required,
    default: defaultOf(s),
    description: s.description ?? '',
    examples: Array.isArray(s.examples) ? s.examples : [],
  });
  const branches = s.anyOf ?? [s];
  for (const branch of branches) {
    const objectSchema = branch.type === 'array' ? branch.items : branch;
    if (!objectSchema?.properties) {
      if (objectSchema?.anyOf) objectSchema.anyOf.forEach((alt) => collectProperties(alt, `${key}[]`, rows));
      continue;
    }
    collectProperties(objectSchema, branch.type === 'array' ? `${key}[]` : key, rows);
  }
}

function collectProperties(s: JSONSchema, prefix: string, rows: Row[]): void {
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (rows.some((r) => r.key === key)) continue; // the same key in two union branches
    collect(child, key, s.required?.includes(name) ?? false, rows);
  }
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Each top-level key with the rows of its table, in schema order. */
export function referenceSections(schema = configJSONSchema()): Array<[string, JSONSchema, Row[]]> {
  return Object.entries(schema.properties ?? {}).map(([section, child]) => {
    const rows: Row[] = [];
    collect(child, section, schema.required?.includes(section) ?? false, rows);
    return [section, child, rows];
  });
}

/** An example value placed at its key, so it reads (and pastes) as part of a config file: `a.b[]` → `{a: {b: [value]}}`. */
export function exampleAt(key: string, value: unknown): Record<string, unknown> {
  return key
    .split('.')
    .reduceRight<unknown>(
      (inner, part) => (part.endsWith('[]') ? { [part.slice(0, -2)]: [inner] } : { [part]: inner }),
      value,
    ) as Record<string, unknown>;
}

function examplesOf(rows: Row[]): string[] {
  return rows.flatMap((r) => [
    `Example${r.examples.length > 1 ? 's' : ''} of \`${r.key}\`:`,
    '',
    ...r.examples.flatMap((e) => ['```yaml', stringify(exampleAt(r.key, e)).trimEnd(), '```', '']),
  ]);
}

/** A realistic file, typed by the schema (tsc catches drift) and parsed by the docs test. */
export const exampleConfig: ConfigInput = {
  publicURL: 'https://bastion.example.com',
  listen: { port: 8080, shutdown: { delay: '5s', timeout: '30s' } },
  admin: { port: 9090 },
  kubernetes: { podCacheTTL: '5s' },
  authentication: {
    oidc: {
      issuer: 'https://login.example.com',
      clientID: 'kube-bastion',
      clientSecretFile: '/var/run/secrets/kube-bastion/oidc-client-secret',
      claimMappings: {
        username: { claim: 'email', prefix: 'bastion:' },
        groups: { claim: 'groups', prefix: 'bastion:' },
      },
    },
    jwt: [
      {
        issuer: { url: 'https://token.actions.githubusercontent.com', audiences: ['kube-bastion'] },
        claimMappings: { username: { claim: 'sub', prefix: 'github:' } },
        claimValidationRules: [{ claim: 'repository_owner', requiredValue: 'example' }],
      },
    ],
    serviceAccountTokens: { enabled: true, audiences: ['kube-bastion'] },
    session: { secretFile: '/var/run/secrets/kube-bastion/cookie-secret', ttl: '12h', idleTimeout: '1h' },
  },
  authorization: {
    namespaces: { allow: ['team-*', 'shared'], deny: ['kube-system', 'team-secret'] },
    rules: [{ groups: ['bastion:sre'], namespaces: ['*'], resources: ['services', 'pods'], verbs: ['get'] }],
    kubernetesRBAC: { enabled: true, cacheTTL: '5m' },
    nodeProxy: false,
  },
  routing: {
    hostSuffix: 'apps.example.com',
    routes: [{ host: 'grafana.example.com', target: 'monitoring/grafana:http' }],
  },
  upstream: {
    responseHeaderTimeout: '60s',
    loadBalancing: { policy: 'p2c', retries: 2 },
    identityHeaders: { enabled: true },
    assertion: { enabled: true, signingKeyFile: '/var/run/secrets/kube-bastion/assertion-signing-key' },
  },
  logging: { level: 'info', format: 'json' },
};

export function renderConfigReference(): string {
  const schema = configJSONSchema();
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- GENERATED by scripts/gen-config-docs.ts from src/config/schema.ts: do not edit; run `npm run docs:config`. -->',
    '',
    'kube-bastion reads one YAML file: `kube-bastion serve --config FILE`. Check a file without starting',
    'the gateway with `kube-bastion check-config --config FILE`: it loads the file exactly as `serve` does',
    'and prints every problem with the path of the offending key (exit 1), so a file it accepts is one',
    '`serve` starts with. Every object is strict, so a misspelt key is an error, never silently ignored.',
    '',
    '- **What is checked**: every key and every rule between keys (a CEL expression that does not compile,',
    '  a feature that needs a cluster with `kubernetes: none`, two listeners on one port, …); an',
    '  authentication method (`oidc`, `jwt` or `serviceAccountTokens`) unless the gateway runs with',
    '  `--insecure-no-auth` (give check-config the same flag); and every file the config names: secrets',
    '  (readable, not empty, a session secret of at least 32 characters), the listener’s certificate and',
    '  key (PEM, unencrypted, matching), CA bundles, the assertion signing key (EC P-256),',
    '  `kubernetes.kubeconfig` with its `context`, and that the audit file can be written. Run it where',
    '  those files are: in the pod, or with them mounted at the same paths.',
    '- **Left to `serve`**: the cluster credentials of the environment when the file names no kubeconfig',
    '  (the pod’s ServiceAccount, `$KUBECONFIG`, `~/.kube/config`) and whether the listeners’ addresses',
    '  and ports can be bound here; it says which when it cannot start.',
    '- **Durations** are Go-style: `250ms`, `30s`, `5m`, `1h30m` (`0` where "off" makes sense).',
    '- **Secrets** never need to be inline: use the `...File` keys (`clientSecretFile`, `secretFile`,',
    '  `signingKeyFile`) or a `${ENV_VAR}` reference in any string; an unset variable is an error.',
    '- **Relative file paths** are resolved against the directory of the config file.',
    '- With the Helm chart, the `config:` value is this file; the chart fills in the `...File` keys',
    '  for the Secret it mounts (see [install.md](install.md)).',
    '',
    '## Example',
    '',
    '```yaml',
    stringify(exampleConfig).trimEnd(),
    '```',
    '',
  ];
  for (const [section, child, rows] of referenceSections(schema)) {
    out.push(`## \`${section}\``, '');
    if (child.description) out.push(`${child.description}.`, '');
    out.push('| Key | Type | Default | Description |', '| --- | --- | --- | --- |');
    for (const r of rows) {
      const req = r.required ? ' **(required)**' : '';
      out.push(`| \`${r.key}\`${req} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`);
    }
    out.push('', ...examplesOf(rows.filter((r) => r.examples.length > 0)));
  }
  return out.join('\n');
}

/** values.schema.json with its `config` property replaced by the generated schema. */
export function renderValuesSchema(current: string): string {
  const values = JSON.parse(current) as JSONSchema;
  values.properties = { ...values.properties, config: valuesConfigSchema() };
  return `${JSON.stringify(values, null, 2)}\n`;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const targets: Array<[string, string]> = [
    [CONFIG_DOC, renderConfigReference()],
    [VALUES_SCHEMA, renderValuesSchema(readFileSync(VALUES_SCHEMA, 'utf8'))],
  ];
  let stale = 0;
  for (const [file, text] of targets) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // a missing file is stale
    }
    if (current === text) continue;
    stale++;
    if (check) console.error(`${file} is stale: run \`npm run docs:config\``);
    else writeFileSync(file, text);
  }
  if (!check) console.log(`wrote ${stale} file(s)`);
  return check && stale > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
