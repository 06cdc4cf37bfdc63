/**
 * The 403 the apiserver sends for a denied proxy request
 * (responsewriters.Forbidden + apierrors.NewForbidden), so clients and
 * scripts that parse it keep working:
 *
 *   services "web:http" is forbidden: User "alice" cannot get resource
 *   "services/proxy" in API group "" in the namespace "team-a"
 */
import { GatewayError } from '../errors.js';
import type { Decision, RequestAttributes } from '../request/attributes.js';

/** Go's %q for the strings that reach this message (names, namespaces, usernames). */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

// The apiserver escapes these so the message never looks like HTML.
const sanitize = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function forbiddenMessage(attrs: RequestAttributes, reason?: string): string {
  const resource = `${attrs.resource}/${attrs.subresource}`;
  const scope = attrs.namespace ? `in the namespace ${goQuote(attrs.namespace)}` : 'at the cluster scope';
  const why = sanitize(
    `User ${goQuote(attrs.user.username)} cannot ${attrs.verb} resource ${goQuote(resource)} in API group "" ${scope}`,
  );
  const detail = reason ? `${why}: ${reason}` : why;
  const subject = attrs.name ? `${attrs.resource} ${goQuote(attrs.name)}` : attrs.resource;
  return `${subject} is forbidden: ${detail}`;
}

export function forbiddenError(attrs: RequestAttributes, decision: Decision): GatewayError {
  return new GatewayError(403, 'Forbidden', forbiddenMessage(attrs, decision.reason), {
    name: attrs.name,
    kind: attrs.resource,
  });
}
