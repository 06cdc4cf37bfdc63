/**
 * The part of authorization that needs no IO: the tunnels and node proxy
 * switches, the namespace fence and the static rules, as a pure function of the request
 * attributes and the compiled config. Kubernetes RBAC (a SubjectAccessReview)
 * is consulted only when this answers `no-rule`.
 */
import type { Config, RuleConfig } from '../config/schema.js';
import { compileGlobs, type Matcher } from './glob.js';
import type { Decision, RequestAttributes } from '../request/attributes.js';

interface CompiledRule {
  subject: (user: RequestAttributes['user']) => boolean;
  namespace: Matcher;
  resources: ReadonlySet<string>;
  name: Matcher;
  verbs: ReadonlySet<string>;
  subresources: ReadonlySet<string>;
  /** Its allowing decision, made once (the decision is read on every request, never changed). */
  allows: Decision;
}

export interface Policy {
  fenceAllows: Matcher;
  rules: readonly CompiledRule[];
  nodeProxy: boolean;
  /** `tunnels.enabled`: without it no rule and no RoleBinding opens a tunnel. */
  tunnels: boolean;
}

function compileRule(rule: RuleConfig, index: number): CompiledRule {
  const users = rule.users && compileGlobs(rule.users);
  const groups = rule.groups && compileGlobs(rule.groups);
  // `*` stands for services and pods only: reaching a kubelet (where `get` on
  // nodes/proxy means exec) has to be asked for by name.
  const resources = new Set(rule.resources.flatMap((r) => (r === '*' ? ['services', 'pods'] : [r])));
  return {
    // A rule without users or groups applies to every authenticated caller.
    subject: (user) =>
      (!users && !groups) || (users?.(user.username) ?? false) || (groups ? user.groups.some(groups) : false),
    namespace: compileGlobs(rule.namespaces),
    resources,
    name: compileGlobs(rule.names),
    verbs: new Set(rule.verbs),
    // Default `proxy`: a rule written before tunnels existed (`verbs: ['*']` included) opens none.
    subresources: new Set(rule.subresources),
    allows: Object.freeze({ allowed: true, by: `rule[${index}]` }),
  };
}

export function compilePolicy(authorization: Config['authorization'], tunnels = false): Policy {
  const allow = compileGlobs(authorization.namespaces.allow);
  const deny = compileGlobs(authorization.namespaces.deny);
  return {
    fenceAllows: (ns) => allow(ns) && !deny(ns),
    rules: authorization.rules.map(compileRule),
    nodeProxy: authorization.nodeProxy,
    tunnels,
  };
}

function ruleAllows(rule: CompiledRule, attrs: RequestAttributes): boolean {
  return (
    rule.subject(attrs.user) &&
    rule.resources.has(attrs.resource) &&
    // Nodes are cluster-scoped: their namespace is '', which only `*` matches.
    rule.namespace(attrs.namespace) &&
    rule.name(attrs.name) &&
    (rule.subresources.has('*') || rule.subresources.has(attrs.subresource)) &&
    // '' (OPTIONS, TRACE, …) is allowed by `*` and nothing else, as in RBAC.
    (rule.verbs.has('*') || (attrs.verb !== '' && rule.verbs.has(attrs.verb)))
  );
}

/** The only denial Kubernetes RBAC may still turn into an allow. */
export const NO_RULE: Decision = Object.freeze({ allowed: false, by: 'no-rule' });

export function decideLocally(attrs: RequestAttributes, policy: Policy): Decision {
  if (attrs.subresource === 'portforward' && !policy.tunnels) {
    return { allowed: false, by: 'tunnels-disabled', reason: 'TCP tunnels are disabled on this gateway' };
  }
  if (attrs.resource === 'nodes') {
    if (!policy.nodeProxy) {
      return { allowed: false, by: 'node-proxy-disabled', reason: 'node proxy is disabled on this gateway' };
    }
  } else if (!policy.fenceAllows(attrs.namespace)) {
    // The fence is checked before any rule so no grant can reach past it.
    return {
      allowed: false,
      by: 'namespace-fence',
      reason: `namespace "${attrs.namespace}" is not open to this gateway`,
    };
  }
  for (const rule of policy.rules) if (ruleAllows(rule, attrs)) return rule.allows;
  return NO_RULE;
}

export const rbacMayAnswer = (decision: Decision): boolean => decision === NO_RULE;
