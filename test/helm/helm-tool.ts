/**
 * Runs the real helm binary that scripts/get-helm.sh puts at .tools/helm.
 * Locally, a missing binary skips the chart tests with a message saying how to get
 * it; in CI (CI=true) it fails them, so the chart can never go untested there.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

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

/** Helm keeps its caches in a throwaway directory, never in the user's home. */
let helmHome: string | undefined;
function helmEnv(): NodeJS.ProcessEnv {
  helmHome ??= mkdtempSync(join(tmpdir(), 'kube-bastion-helm-'));
  return {
    ...process.env,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
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
}

export function valuesArgs(options: RenderOptions): string[] {
  return [...(options.valuesFiles ?? []).flatMap((f) => ['-f', join(CHART, f)]), ...setArgs(options.set)];
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
