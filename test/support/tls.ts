/**
 * A throwaway certificate authority for tests: servers present a certificate
 * it issued and clients trust `caPem`, so TLS is verified for real (no
 * insecure-skip-tls-verify anywhere).
 */
import { generate } from 'selfsigned';

export interface IssuedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (EC P-256). */
  key: string;
}

export interface TestCA {
  /** PEM of the CA certificate: what clients trust. */
  caPem: string;
  /** A server certificate for `hosts` (names or IP addresses), signed by this CA. */
  issue(hosts?: readonly string[]): Promise<IssuedCertificate>;
}

const IP = /^[\d.]+$|:/;

export async function createTestCA(commonName = 'kube-bastion test CA'): Promise<TestCA> {
  const ca = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return {
    caPem: ca.cert,
    async issue(hosts = ['localhost', '127.0.0.1', '::1']) {
      const leaf = await generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: hosts.map((h) =>
              IP.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h },
            ),
          },
        ],
      });
      return { cert: leaf.cert, key: leaf.private };
    },
  };
}
