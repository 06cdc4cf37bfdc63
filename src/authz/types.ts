import type { Identity } from '../authn/identity.js';
import type { Subresource } from '../proxy/grammar.js';
import type { TargetKind } from '../proxy/target.js';
import type { ReviewBudget } from './review-budget.js';

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

export interface AuthorizeOptions {
  /**
   * Reviews this decision may send to the API server; when none is left, a decision that needs
   * one rejects with ReviewBudgetExhausted (the portal's per-page cap).
   */
  budget?: ReviewBudget;
}

export interface Authorizer {
  authorize(attrs: RequestAttributes, options?: AuthorizeOptions): Promise<Decision>;
}
