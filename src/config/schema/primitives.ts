/**
 * The building blocks every config section shares: the common string and
 * number checks, and `describe`, which documents a key for the generated
 * reference. Durations come from ../duration.ts and are re-exported here so a
 * section imports its primitives from one place.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export { duration } from '../duration.js';

export const nonEmpty = z.string().min(1, 'must not be empty');
export const port = z.number().int().min(0).max(65535);
export const httpsURL = z
  .url({ message: 'must be a URL' })
  .refine((u) => u.startsWith('https://'), { message: 'must be https' });
export const anyURL = z.url({ message: 'must be a URL' });
/** An IP address, or an address with a prefix length valid for its family (`10.0.0.0/8`, `fd00::/8`). */
export const cidr = z.string().refine((value) => {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
}, 'must be an IP address or CIDR');
/** A DNS name, any case, optionally with a final dot. No look-ahead: Helm checks the chart's copy with RE2. */
export const DNS_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i;
/**
 * Where a listener binds: an IP address, or `localhost`. Never `host:port` (the port has its
 * own key), and no other name: whether a name resolves depends on where the gateway runs.
 */
export const bindAddress = z.string().refine((value) => isIP(value) !== 0 || value === 'localhost', {
  message:
    'must be an IP address such as 0.0.0.0, :: or 127.0.0.1 (or localhost), without a port: the port has its own key',
});
/** Plain-http URLs are accepted for loopback development servers only (an IdP, the demo). */
export function isLoopbackURL(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.endsWith('.localhost');
}
/** A secret the gateway derives keys from; ${ENV} references are substituted before this check. */
export const SECRET_MIN_LENGTH = 32;
export const SECRET_TOO_SHORT = `must be at least ${SECRET_MIN_LENGTH} characters (e.g. \`openssl rand -base64 32\`)`;
export const glob = nonEmpty.meta({ description: 'glob: `*` matches any run of characters' });

/**
 * Documents a key in docs/configuration.md. `examples` (typed as what a config
 * file may hold, so tsc catches drift) are for keys whose default does not show
 * the shape: lists, objects, globs, CEL. The docs test parses every one.
 */
export const describe = <T extends z.ZodType>(schema: T, description: string, examples?: z.input<T>[]): T =>
  schema.meta(examples ? { description, examples } : { description });
