/**
 * Legacy (unaggregated) discovery: /api, /apis and each group version's
 * resource list, built from what the fake server stores and reviews. Clients
 * that map kinds to resources first (helm, kubectl, dynamic clients) need it.
 */
import { RESOURCES } from './store.js';

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

const READ = ['get', 'list', 'watch'];
const REVIEWS: Array<[groupVersion: string, Resource]> = [
  [
    'authentication.k8s.io/v1',
    { name: 'tokenreviews', kind: 'TokenReview', namespaced: false, verbs: ['create'] },
  ],
  [
    'authorization.k8s.io/v1',
    { name: 'subjectaccessreviews', kind: 'SubjectAccessReview', namespaced: false, verbs: ['create'] },
  ],
];

/**
 * Built-in kinds a chart creates: listed so a client can map them to resources, never stored
 * (a GET answers 404, which an install dry run reads as "nothing in the way").
 */
const LISTED_ONLY: Array<[groupVersion: string, name: string, kind: string, namespaced: boolean]> = [
  ['v1', 'configmaps', 'ConfigMap', true],
  ['v1', 'serviceaccounts', 'ServiceAccount', true],
  ['apps/v1', 'deployments', 'Deployment', true],
  ['policy/v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
  ['autoscaling/v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true],
  ['networking.k8s.io/v1', 'ingresses', 'Ingress', true],
  ['networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', true],
  ['rbac.authorization.k8s.io/v1', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io/v1', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['rbac.authorization.k8s.io/v1', 'roles', 'Role', true],
  ['rbac.authorization.k8s.io/v1', 'rolebindings', 'RoleBinding', true],
];

function byGroupVersion(): Map<string, Resource[]> {
  const out = new Map<string, Resource[]>();
  const add = (gv: string, r: Resource) => out.set(gv, [...(out.get(gv) ?? []), r]);
  for (const [name, info] of Object.entries(RESOURCES)) add(info.apiVersion, { name, ...info, verbs: READ });
  for (const [gv, r] of REVIEWS) add(gv, r);
  for (const [gv, name, kind, namespaced] of LISTED_ONLY) add(gv, { name, kind, namespaced, verbs: READ });
  return out;
}

/** The discovery document at `pathname`, or undefined when it is not a discovery path. */
export function discovery(pathname: string): object | undefined {
  const groups = byGroupVersion();
  if (pathname === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  }
  if (pathname === '/apis') {
    const named = [...groups.keys()].filter((gv) => gv.includes('/'));
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: named.map((gv) => {
        const [group, version] = gv.split('/');
        const v = { groupVersion: gv, version };
        return { name: group, versions: [v], preferredVersion: v };
      }),
    };
  }
  const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(pathname);
  const gv = m?.[1] ?? m?.[2];
  const resources = gv && groups.get(gv);
  if (!resources) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: resources.map((r) => ({ ...r, singularName: '' })),
  };
}
