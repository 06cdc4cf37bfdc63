/**
 * Runs the real helm binary that scripts/get-helm.sh puts at .tools/helm.
 * Locally, a missing binary skips the chart tests with a message saying how to get
 * it; in CI (CI=true) it fails them, so the chart can never go untested there.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

const run = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, '../..');
export const CHART = join(ROOT, 'helm/kube-bastion');
export const HELM = join(ROOT, '.tools/helm');
export const RELEASE = 'bastion';
export const NAMESPACE = 'bastion-system';

const missing = !existsSync(HELM);
const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** The `skip` option for chart tests: a reason locally when helm is missing, never in CI. */
export const skipWithoutHelm: string | false =
  missing && !inCI
    ? `helm not found at .tools/helm: run \`bash scripts/get-helm.sh\` to test the chart`
    : false;

/** Helm keeps its caches (and the tests their values files) in a throwaway directory, never in the user's home. */
let helmHome: string | undefined;
function scratch(): string {
  helmHome ??= mkdtempSync(join(tmpdir(), 'kube-bastion-helm-'));
  return helmHome;
}
function helmEnv(): NodeJS.ProcessEnv {
  const home = scratch();
  return {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
}
process.on('exit', () => {
  if (helmHome) rmSync(helmHome, { recursive: true, force: true });
});

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function helm(args: string[]): Promise<HelmResult> {
  if (missing) assert.fail(`CI=true but helm is missing at ${HELM}: scripts/get-helm.sh must run first`);
  try {
    const { stdout, stderr } = await run(HELM, args, { env: helmEnv(), cwd: ROOT, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `--set` style arguments from a flat map; `--set-string` so values stay strings. */
function setArgs(set: Record<string, string | number | boolean> = {}): string[] {
  return Object.entries(set).flatMap(([k, v]) =>
    typeof v === 'string' ? ['--set-string', `${k}=${v}`] : ['--set', `${k}=${v}`],
  );
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: Record<string, string | number | boolean>;
  /**
   * Default true: also pass SECRET_VALUES (before the other values, so they win). Without a
   * cluster the chart refuses to generate the cookie secret and signing key, so a render that
   * is about something else gives them, as a GitOps user would. False: render as given.
   */
  secretValues?: boolean;
}

/** A cookie secret and a P-256 signing key, as an admin rendering without a cluster sets them. */
export const SECRET_VALUES = {
  cookieSecret: 'cookie-secret-set-in-the-values-0123456789abcdef',
  assertionSigningKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  }) as string,
};
let secretValuesFile: string | undefined;
function secretValuesArgs(): string[] {
  if (!secretValuesFile) {
    secretValuesFile = join(scratch(), 'secret-values.yaml');
    writeFileSync(secretValuesFile, stringify({ secrets: SECRET_VALUES }));
  }
  return ['-f', secretValuesFile];
}

export function valuesArgs(options: RenderOptions): string[] {
  return [
    ...(options.secretValues === false ? [] : secretValuesArgs()),
    ...(options.valuesFiles ?? []).flatMap((f) => ['-f', join(CHART, f)]),
    ...setArgs(options.set),
  ];
}

/** A rendered object; `find` narrows it to the kubernetes-models interface of its kind. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** `helm template` → the rendered objects; throws with helm's stderr when rendering fails. */
export async function render(options: RenderOptions = {}): Promise<KubeObject[]> {
  const result = await renderRaw(options);
  assert.equal(result.code, 0, `helm template failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      assert.equal(doc.errors.length, 0, `rendered YAML does not parse: ${doc.errors.join('; ')}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

export function renderRaw(options: RenderOptions = {}): Promise<HelmResult> {
  return helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...valuesArgs(options)]);
}

export function find<T = KubeObject>(objects: KubeObject[], kind: string, name?: string): T & KubeObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(
    found,
    `no ${kind}${name ? `/${name}` : ''} rendered; got ${objects.map((o) => o.kind).join(', ')}`,
  );
  return found as T & KubeObject;
}

export const kinds = (objects: KubeObject[]): string[] => objects.map((o) => o.kind).sort();
