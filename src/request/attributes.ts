/**
 * What authorization is asked, and what it answered: the attributes the
 * apiserver would authorize for a proxy (or port-forward) request, and the
 * decision. Built by authz/attributes.ts, decided by authz/, recorded by the
 * audit log.
 */
import type { Identity } from './identity.js';
import type { Subresource } from './proxy-path.js';
import type { TargetKind } from './target.js';

/** Kubernetes verbs for the proxy subresource (a tunnel is always `create`); '' is an unknown method that only `*` allows. */
export type Verb = 'get' | 'create' | 'update' | 'patch' | 'delete' | '';

/** The attributes the apiserver would authorize for this proxy (or port-forward) request. */
export interface RequestAttributes {
  user: Identity;
  verb: Verb;
  resource: TargetKind;
  subresource: Subresource;
  /** '' for nodes. */
  namespace: string;
  /**
   * What RBAC resourceNames see: for `proxy` the raw decoded name segment (`web:http`), for
   * `portforward` the object's name alone (`db-0`), as in `kubectl port-forward`'s request.
   */
  name: string;
}

export interface Decision {
  allowed: boolean;
  /** What answered: `namespace-fence`, `rule[2]`, `kubernetes-rbac`, `node-proxy-disabled`, `tunnels-disabled`, `no-rule`. */
  by: string;
  /** Human-readable reason, appended to the 403 message when present. */
  reason?: string;
}
