/**
 * A problem in a config file, named by the path of the key to change. Zod
 * gives paths as key lists; people read them as `authentication.jwt[1].issuer.url`.
 */

export type ConfigPath = (string | number)[];

/** What a check outside a section's own schema reports; the loader turns it into a zod issue. */
export interface ConfigIssue {
  path: ConfigPath;
  message: string;
}

/** `authentication.jwt[1].issuer.url` from `['authentication','jwt',1,'issuer','url']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/** The inverse of formatPath, for errors that carry the path as text (CEL compile errors). */
export function parsePath(text: string): ConfigPath {
  return [...text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] === undefined ? m[1] : Number(m[2])));
}
