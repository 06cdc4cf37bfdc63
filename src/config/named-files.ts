/**
 * The files a config names — secrets, the listener's certificate and key, CA
 * bundles, the assertion signing key — read and checked when the config
 * loads, so that a missing, unreadable or malformed file is a problem with its
 * key's path (check-config reports it, serve refuses with the same line), not
 * an error while the gateway starts.
 *
 * Relative paths are resolved against the config file's directory, and the
 * loaded config holds them absolute, so whatever reads a file later reads the
 * one checked here. Secrets are read into the config (`clientSecret`,
 * `secret`), and an issuer's `certificateAuthority` becomes the PEM text it
 * names. The kubeconfig is read in kubeconfig-check.ts.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readSigningKeys, SigningKeyError } from '../upstream-identity/signing-key-file.js';
import type { ConfigIssue, ConfigPath } from './issue.js';
import { formatPath } from './issue.js';
import { keyMatchesCertificate, PemError, pemCertificates, pemPrivateKey } from './pem.js';
import type { Config } from './schema.js';
import { SECRET_MIN_LENGTH } from './schema/primitives.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EROFS: 'the file system is read-only',
};
const reason = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ?? (code || String(err));
};

class FileReader {
  constructor(
    private readonly baseDir: string,
    readonly report: (issue: ConfigIssue) => void,
  ) {}

  absolute(file: string): string {
    return resolve(this.baseDir, file);
  }

  /**
   * The file's text, or undefined after reporting why it cannot be read. A secret must be UTF-8
   * (`strict`): random bytes read leniently turn into U+FFFD and lose most of their entropy.
   */
  read(path: ConfigPath, file: string, strict = false): string | undefined {
    const abs = this.absolute(file);
    let bytes: Buffer;
    try {
      bytes = readFileSync(abs);
    } catch (err) {
      this.report({
        path,
        message:
          `cannot read ${abs}: ${reason(err)}; fix the path or put the file there ` +
          '(relative paths are resolved against the config file’s directory)',
      });
      return undefined;
    }
    try {
      return new TextDecoder('utf-8', { fatal: strict }).decode(bytes);
    } catch {
      this.report({
        path,
        message: `${abs} is not UTF-8 text; write the secret as text, e.g. the output of \`openssl rand -base64 48\``,
      });
      return undefined;
    }
  }

  /**
   * Whether the gateway will be able to append to the file: it, or else the nearest directory
   * above it that exists (the rest is created), must be writable. Nothing is created here.
   */
  writable(path: ConfigPath, file: string): void {
    const abs = this.absolute(file);
    let at = abs;
    while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
    try {
      const isDirectory = statSync(at).isDirectory();
      if (at === abs && isDirectory) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
      if (at !== abs && !isDirectory) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
      accessSync(at, constants.W_OK);
    } catch (err) {
      this.report({
        path,
        message: `cannot write ${abs}: ${reason(err)}; name a file in a writable directory (e.g. a volume mount)`,
      });
    }
  }

  /** Runs a PEM check; its error becomes a problem at `path`, after `what` (the file) when given. */
  pem<T>(path: ConfigPath, what: string | undefined, check: () => T): T | undefined {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof PemError || err instanceof SigningKeyError)) throw err;
      this.report({ path, message: what ? `${what} ${err.message}` : err.message });
      return undefined;
    }
  }
}

function secrets(config: Config, files: FileReader): void {
  const { oidc, session } = config.authentication;
  if (oidc?.clientSecretFile) {
    const path = ['authentication', 'oidc', 'clientSecretFile'];
    const text = files.read(path, oidc.clientSecretFile, true)?.trim();
    if (text === '')
      files.report({
        path,
        message: `${files.absolute(oidc.clientSecretFile)} is empty: put the client secret in it`,
      });
    oidc.clientSecretFile = files.absolute(oidc.clientSecretFile);
    if (text) oidc.clientSecret = text;
  }
  if (session?.secretFile) {
    const path = ['authentication', 'session', 'secretFile'];
    const text = files.read(path, session.secretFile, true)?.trim();
    if (text !== undefined && text.length < SECRET_MIN_LENGTH)
      files.report({
        path,
        message:
          `${files.absolute(session.secretFile)} holds ${text.length} characters; the session secret must be ` +
          `at least ${SECRET_MIN_LENGTH} (e.g. \`openssl rand -base64 32 > secret\`)`,
      });
    session.secretFile = files.absolute(session.secretFile);
    if (text) session.secret = text;
  }
}

function listenerTLS(config: Config, files: FileReader): void {
  const tls = config.listen.tls;
  if (!tls) return;
  const certPath = ['listen', 'tls', 'certFile'];
  const keyPath = ['listen', 'tls', 'keyFile'];
  const certText = files.read(certPath, tls.certFile);
  const keyText = files.read(keyPath, tls.keyFile);
  const certs =
    certText === undefined ? undefined : files.pem(certPath, tls.certFile, () => pemCertificates(certText));
  const key =
    keyText === undefined ? undefined : files.pem(keyPath, tls.keyFile, () => pemPrivateKey(keyText));
  if (certs && key && !keyMatchesCertificate(certs[0], key))
    files.report({
      path: keyPath,
      message:
        `${tls.keyFile} is not the key of the certificate in ${formatPath(certPath)} (${certs[0].subject.replace(/\n/g, ', ')}); ` +
        'use the key the certificate was issued for, and put the server’s certificate first in certFile',
    });
  tls.certFile = files.absolute(tls.certFile);
  tls.keyFile = files.absolute(tls.keyFile);
}

function caBundles(config: Config, files: FileReader): void {
  const tls = config.upstream.tls;
  if (tls.caFile) {
    const path = ['upstream', 'tls', 'caFile'];
    const text = files.read(path, tls.caFile);
    if (text !== undefined) files.pem(path, tls.caFile, () => pemCertificates(text));
    tls.caFile = files.absolute(tls.caFile);
  }
  config.authentication.jwt.forEach(({ issuer }, i) => {
    const value = issuer.certificateAuthority;
    if (value === undefined) return;
    const path = ['authentication', 'jwt', i, 'issuer', 'certificateAuthority'];
    // PEM text, as in Kubernetes; anything else is a file holding it.
    const inline = value.includes('-----BEGIN');
    const text = inline ? value : files.read(path, value);
    if (text === undefined) return;
    if (files.pem(path, inline ? 'the PEM text' : value, () => pemCertificates(text)))
      issuer.certificateAuthority = text;
  });
}

function signingKey(config: Config, files: FileReader): void {
  const assertion = config.upstream.assertion;
  if (!assertion.enabled || !assertion.signingKeyFile) return;
  const path = ['upstream', 'assertion', 'signingKeyFile'];
  const text = files.read(path, assertion.signingKeyFile);
  const abs = files.absolute(assertion.signingKeyFile);
  if (text !== undefined) files.pem(path, undefined, () => readSigningKeys(text, abs));
  assertion.signingKeyFile = abs;
}

/** Reads and checks every file the config names; returns the config with absolute paths and secrets filled in. */
export function readNamedFiles(
  config: Config,
  baseDir: string,
  report: (issue: ConfigIssue) => void,
): Config {
  const files = new FileReader(baseDir, report);
  secrets(config, files);
  listenerTLS(config, files);
  caBundles(config, files);
  signingKey(config, files);
  const audit = config.logging.audit;
  if (audit.enabled && audit.file) files.writable(['logging', 'audit', 'file'], audit.file);
  if (audit.file) audit.file = files.absolute(audit.file);
  // Read in kubeconfig-check.ts (it needs the Kubernetes client, loaded only then); resolved here.
  if (config.kubernetes !== 'none' && config.kubernetes.kubeconfig)
    config.kubernetes.kubeconfig = files.absolute(config.kubernetes.kubeconfig);
  return config;
}
