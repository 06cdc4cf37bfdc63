import type { Identity } from '../authn/identity.js';
import type { TargetKind } from '../proxy/target.js';
import type { ReviewBudget } from './review-budget.js';

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
