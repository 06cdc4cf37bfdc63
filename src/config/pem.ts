/**
 * What the PEM files a config names must hold, read with node's own parsers
 * (the ones TLS then uses), so a file that passes here is one the listener
 * and the https clients accept.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

export class PemError extends Error {
  readonly code = 'ERR_PEM';
  constructor(message: string) {
    super(message);
    this.name = 'PemError';
  }
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PRIVATE_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

const firstLine = (err: unknown) => String((err as Error).message).split('\n')[0];

/** The certificates of a PEM bundle, in order; a PemError when there is none or one is broken. */
export function pemCertificates(text: string): X509Certificate[] {
  const blocks = text.match(CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new PemError('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new PemError(`certificate ${i + 1} cannot be read: ${firstLine(err)}`);
    }
  });
}

/** The private key of a PEM file (PKCS#8, PKCS#1 or SEC1, unencrypted). */
export function pemPrivateKey(text: string): KeyObject {
  if (!PRIVATE_KEY.test(text)) throw new PemError('holds no PEM private key (-----BEGIN PRIVATE KEY-----)');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text))
    throw new PemError(
      'holds an encrypted key: the gateway has no passphrase; store the key unencrypted (in a Secret)',
    );
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new PemError(`cannot be read as a private key: ${firstLine(err)}`);
  }
}

/** Whether the key is the one the (first, the server's own) certificate was issued for. */
export const keyMatchesCertificate = (certificate: X509Certificate, key: KeyObject): boolean =>
  certificate.checkPrivateKey(key);
