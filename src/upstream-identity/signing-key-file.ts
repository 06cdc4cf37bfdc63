/**
 * What the assertion signing key file must hold: PEM EC P-256 private keys.
 * Its own module (node:crypto only, no jose) because the config loader applies
 * the same rule when the config loads, and check-config should not pay for
 * the JWT library to do it.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';

export class SigningKeyError extends Error {
  readonly code = 'ERR_SIGNING_KEY';
  constructor(message: string) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

const PEM_BLOCK = /-----BEGIN ((?:EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/g;

/**
 * Every private key in a PEM file, in order (PKCS#8 or SEC1), each an EC P-256
 * key (ES256); else a SigningKeyError saying which key is wrong. The one rule for
 * the file: the config loader applies it when the config loads (so check-config
 * reports it with its path), the key ring when it re-reads the file.
 */
export function readSigningKeys(pem: string, file: string): KeyObject[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new SigningKeyError(`${file}: no PEM private key found`);
  return blocks.map((block, i) => {
    let key: KeyObject;
    try {
      key = createPrivateKey(block);
    } catch (err) {
      throw new SigningKeyError(`${file}: key ${i + 1} cannot be read: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new SigningKeyError(`${file}: key ${i + 1}: must be an EC P-256 private key (ES256)`);
    return key;
  });
}
