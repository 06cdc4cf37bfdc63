/**
 * What a user name, group or email may look like, so that the name
 * authorization decides on is, byte for byte, the name an upstream reads.
 *
 * Header parsers drop control characters and trim surrounding whitespace, and
 * a lone UTF-16 surrogate becomes U+FFFD in UTF-8: `admin\u0000`, `admin `
 * and ` admin` would all reach an upstream as `admin`, while the rules and
 * RBAC saw another name. Such identities are refused at authentication, with
 * a reason the caller can act on. Commas are fine in names and groups (groups
 * are encoded unambiguously in X-Forwarded-Groups, see upstream-identity);
 * an email must be one plain address.
 *
 * `system:` names belong to Kubernetes itself (system:masters,
 * system:serviceaccount:…, system:node:…): an IdP or CI issuer may not mint
 * them unless the admin allowed it for that issuer.
 */
import { ClaimError } from './claim-error.js';

/** C0 controls, DEL and C1 controls (Unicode category Cc). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
/** JavaScript's `\s`: Unicode White_Space plus U+FEFF, what `trim()` would remove. */
const EDGE_SPACE = /^\s|\s$/u;
/** Half of a surrogate pair on its own: UTF-8 has no encoding for it (it becomes U+FFFD). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const RESERVED_PREFIX = 'system:';

const show = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** Throws ClaimError unless `value` survives any header parser unchanged. */
export function checkName(value: string, what: string): void {
  if (hasControl(value)) throw new ClaimError(`${what} ${show(value)} contains a control character`);
  if (EDGE_SPACE.test(value)) throw new ClaimError(`${what} ${show(value)} begins or ends with whitespace`);
  if (LONE_SURROGATE.test(value)) throw new ClaimError(`${what} ${show(value)} is not valid Unicode`);
}

/** One plain address: `local@domain`, no whitespace, no comma, one `@`. */
export function checkEmail(value: string): void {
  checkName(value, 'email');
  const at = value.indexOf('@');
  if (/[\s,]/u.test(value) || at <= 0 || at !== value.lastIndexOf('@') || at === value.length - 1)
    throw new ClaimError(`email ${show(value)} is not a single plain address (local@domain)`);
}

export const isReservedName = (name: string): boolean =>
  name.slice(0, RESERVED_PREFIX.length).toLowerCase() === RESERVED_PREFIX;

/** Throws ClaimError when the user name or a group is a Kubernetes `system:` name. */
export function checkNotReserved(user: { username: string; groups: readonly string[] }): void {
  const reserved = isReservedName(user.username)
    ? `user name ${show(user.username)}`
    : user.groups.filter(isReservedName).map((g) => `group ${show(g)}`)[0];
  if (reserved)
    throw new ClaimError(
      `${reserved} is a Kubernetes system name ("system:" prefix), which this issuer may not assign`,
    );
}
