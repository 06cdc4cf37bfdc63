/**
 * Encrypted, authenticated blobs for cookies: compact JWE (`dir` + A256GCM)
 * under a key derived from the configured secret. Previous secrets still open
 * old blobs, so rotating the secret signs nobody out; the key id in the JWE
 * header picks the key, so opening never tries keys in turn.
 */
import { createHash, hkdfSync, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { CompactEncrypt, compactDecrypt } from 'jose';

/**
 * Blobs of one purpose cannot be opened as another (a login-state cookie is no
 * session; a sign-in handoff or a routed host's ticket is neither).
 */
export type SealPurpose = 'session' | 'login' | 'handle' | 'handoff' | 'host';

/** The blob was tampered with, truncated, sealed under an unknown secret, or for another purpose. */
export class UnsealError extends Error {
  readonly code = 'ERR_UNSEAL';
  constructor(message: string) {
    super(message);
    this.name = 'UnsealError';
  }
}

interface Key {
  kid: string;
  key: CryptoKey;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function deriveKey(secret: string, purpose: SealPurpose): Promise<Key> {
  const raw = new Uint8Array(hkdfSync('sha256', secret, 'kube-bastion', `cookie:${purpose}:v1`, 32));
  const kid = createHash('sha256').update(raw).digest('base64url').slice(0, 12);
  const key = await webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { kid, key };
}

export class SealedBox {
  private constructor(
    private readonly current: Key,
    private readonly byKid: Map<string, Key>,
  ) {}

  /** `secrets[0]` seals; every one of them opens. */
  static async create(secrets: string[], purpose: SealPurpose): Promise<SealedBox> {
    if (secrets.length === 0) throw new Error('SealedBox needs at least one secret');
    const keys = await Promise.all(secrets.map((s) => deriveKey(s, purpose)));
    return new SealedBox(keys[0], new Map(keys.map((k) => [k.kid, k])));
  }

  /** True when the blob was sealed with an older secret (re-seal it to finish the rotation). */
  isStale(blob: string): boolean {
    return !blob.startsWith(this.headerPrefix);
  }

  private get headerPrefix(): string {
    return Buffer.from(`{"alg":"dir","enc":"A256GCM","kid":"${this.current.kid}"}`).toString('base64url');
  }

  async seal(payload: unknown): Promise<string> {
    return new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.current.kid })
      .encrypt(this.current.key);
  }

  async open(blob: string): Promise<unknown> {
    try {
      const { plaintext } = await compactDecrypt(
        blob,
        (header) => {
          const key = typeof header.kid === 'string' ? this.byKid.get(header.kid) : undefined;
          if (!key) throw new UnsealError('sealed with an unknown secret');
          return key.key;
        },
        { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] },
      );
      return JSON.parse(decoder.decode(plaintext));
    } catch (err) {
      if (err instanceof UnsealError) throw err;
      throw new UnsealError('cannot be decrypted (tampered or truncated)');
    }
  }
}
