/**
 * The authorization attributes the apiserver builds for a proxy request
 * (requestinfo.go NewRequestInfo + filters/authorization.go), so a rule or
 * RoleBinding means the same here as it does in front of the real apiserver.
 */
import type { Identity } from '../request/identity.js';
import type { ProxyPath } from '../request/proxy-path.js';
import type { RequestAttributes, Verb } from '../request/attributes.js';

const VERBS: Readonly<Record<string, Verb>> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  // Never `deletecollection`: a proxy request always names its target.
  DELETE: 'delete',
};

/** OPTIONS, TRACE, CONNECT and anything unknown map to '' — only a `*` verb allows them. */
export function verbForMethod(method: string): Verb {
  return VERBS[method.toUpperCase()] ?? '';
}

/**
 * A WebSocket upgrade arrives as GET, but once upgraded it can write as well
 * as read (exec through a kubelet, a shell in a web terminal), so it is
 * authorized as `create` (KEP-4006, k8s #78741).
 */
export function requestAttributes(
  method: string,
  path: ProxyPath,
  user: Identity,
  upgrade: boolean,
): RequestAttributes {
  let verb = verbForMethod(method);
  if (upgrade && verb === 'get') verb = 'create';
  return {
    user,
    verb,
    resource: path.kind,
    subresource: 'proxy',
    namespace: path.kind === 'nodes' ? '' : path.namespace,
    name: path.segment,
  };
}
