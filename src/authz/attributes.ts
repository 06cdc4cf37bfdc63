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
 *
 * A TCP tunnel is `create` on `portforward` whatever the method, named by the
 * object alone: for a pod exactly what `kubectl port-forward` asks for, so a
 * RoleBinding (resourceNames included) means the same here; `services/portforward`
 * is the same idea for Services. The port is not part of the name (kubectl
 * passes it as a query parameter); `tunnels.ports` limits ports.
 */
export function requestAttributes(
  method: string,
  path: ProxyPath,
  user: Identity,
  upgrade: boolean,
): RequestAttributes {
  if (path.subresource === 'portforward') {
    const { kind: resource, namespace, name } = path;
    return { user, verb: 'create', resource, subresource: 'portforward', namespace, name };
  }
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
