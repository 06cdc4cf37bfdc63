/**
 * What authorization is asked, and what it answered: the attributes the
 * apiserver would authorize for a proxy request, and the decision. Built by
 * authz/attributes.ts, decided by authz/, recorded by the audit log.
 */
import type { Identity } from './identity.js';
import type { TargetKind } from './target.js';

/** Kubernetes verbs for the proxy subresource; '' is an unknown method that only `*` allows. */
export type Verb = 'get' | 'create' | 'update' | 'patch' | 'delete' | '';

/** The attributes the apiserver would authorize for this proxy request. */
export interface RequestAttributes {
  user: Identity;
  verb: Verb;
  resource: TargetKind;
  subresource: 'proxy';
  /** '' for nodes. */
  namespace: string;
  /** The raw decoded name segment (`web:http`), as RBAC resourceNames see it. */
  name: string;
}

export interface Decision {
  allowed: boolean;
  /** What answered: `namespace-fence`, `rule[2]`, `kubernetes-rbac`, `node-proxy-disabled`, `no-rule`. */
  by: string;
  /** Human-readable reason, appended to the 403 message when present. */
  reason?: string;
}
