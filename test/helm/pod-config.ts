/**
 * Loads the config file exactly as a rendered pod would see it: the ConfigMap
 * mounted where `--config` points, the Secret's keys as files under its mount,
 * the container's env for `${VAR}` references, and then the gateway's own loader
 * (loadConfig, as `serve` loads it: the files read and checked) and signing-key reader. This is
 * what ties the chart to the schema. One difference: a config without an authentication method
 * passes here. The chart's defaults have none (the admin adds one), and serve refuses to start
 * until then; test/config/agreement.test.ts holds serve and check-config to that.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { parseKeyFile } from '../../src/upstream-identity/signing-keys.js';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IConfigMap, IContainer, ISecret } from 'kubernetes-models/v1';
import { find, type KubeObject } from './helm-tool.js';

export interface PodConfig {
  config: Config;
  /** The config file's text as rendered into the ConfigMap. */
  text: string;
  /** Where the Secret is mounted, and the rendered Secret (undefined with existingSecret). */
  secretMountPath: string;
  secretName: string;
  secret?: ISecret;
}

export const podSpec = (objects: KubeObject[]) =>
  find<IDeployment>(objects, 'Deployment').spec!.template.spec!;
export const container = (objects: KubeObject[]): IContainer => podSpec(objects).containers[0];

function volumeAt(objects: KubeObject[], mountPath: string) {
  const mount = container(objects).volumeMounts?.find((m) => m.mountPath === mountPath);
  assert.ok(mount, `nothing is mounted at ${mountPath}`);
  const volume = podSpec(objects).volumes?.find((v) => v.name === mount.name);
  assert.ok(volume, `no volume ${mount.name}`);
  return volume;
}

/** Dummy content for a secret file the test must invent (existingSecret is not rendered). */
function inventSecret(configKey: string): string {
  if (configKey === 'signingKeyFile') {
    return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    }) as string;
  }
  return randomBytes(32).toString('base64url');
}

/** A value for an env var the pod gets from a Secret the test does not have; URLs must look like one. */
const invented = (name: string) => (name.endsWith('REDIS_URL') ? 'rediss://redis.invalid:6379' : `value-of-${name}`);

/** Every `...File` key whose path is inside dir, as [configKey, path]. */
function secretFiles(
  value: unknown,
  dir: string,
  out: Array<[string, string]> = [],
): Array<[string, string]> {
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' && k.endsWith('File') && v.startsWith(`${dir}/`)) out.push([k, v]);
      else secretFiles(v, dir, out);
    }
  }
  return out;
}

export interface PodFiles {
  /** The config file as the pod reads it, with the Secret's mount path replaced by `dir`. */
  file: string;
  /** The container's env; values from Secrets the test does not have are invented. */
  env: Record<string, string>;
  text: string;
  secretMountPath: string;
  secretName: string;
  secret?: ISecret;
}

/** Writes into `dir` what the rendered pod would see: its config file and the Secret's keys as files. */
export function writePodFiles(objects: KubeObject[], dir: string): PodFiles {
  const c = container(objects);
  const args = c.args ?? [];
  const configPath = args[args.indexOf('--config') + 1];
  assert.ok(configPath, `the container args name no --config file: ${JSON.stringify(args)}`);
  const configVolume = volumeAt(objects, dirname(configPath));
  const configMap = find<IConfigMap>(objects, 'ConfigMap', configVolume.configMap?.name);
  const text = configMap.data?.[basename(configPath)];
  assert.ok(text, `ConfigMap ${configMap.metadata.name} has no key ${basename(configPath)}`);

  const secretMount = c.volumeMounts?.find((m) => m.name === 'secrets');
  assert.ok(secretMount, 'the Secret is not mounted');
  const secretName = volumeAt(objects, secretMount.mountPath).secret?.secretName ?? '';
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === secretName) as
    ISecret | undefined;

  for (const [configKey, path] of secretFiles(parse(text), secretMount.mountPath)) {
    const key = basename(path);
    const content = secret
      ? Buffer.from(
          secret.data?.[key] ?? assert.fail(`Secret ${secretName} has no key ${key} (config ${configKey})`),
          'base64',
        )
      : inventSecret(configKey);
    writeFileSync(join(dir, key), content);
  }
  const file = join(dir, basename(configPath));
  writeFileSync(file, text.replaceAll(secretMount.mountPath, dir));
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? invented(e.name)]));
  return { file, env, text, secretMountPath: secretMount.mountPath, secretName, secret };
}

export async function loadPodConfig(objects: KubeObject[]): Promise<PodConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-bastion-secrets-'));
  try {
    const { file, env, text, secretMountPath, secretName, secret } = writePodFiles(objects, dir);
    const config = loadConfig(parse(readFileSync(file, 'utf8')), { env, insecureNoAuth: true });
    const keyFile = config.upstream.assertion.signingKeyFile;
    if (config.upstream.assertion.enabled && keyFile) {
      const keys = await parseKeyFile(readFileSync(keyFile, 'utf8'), keyFile);
      assert.ok(keys.length >= 1 && keys[0].jwk.alg === 'ES256', 'the assertion signing key must be ES256');
    }
    return { config, text, secretMountPath, secretName, secret };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
