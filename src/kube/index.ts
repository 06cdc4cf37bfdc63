/** Cluster state: where Services, EndpointSlices, Pods and Nodes come from. */
export type { ClusterState } from './cluster-state.js';
export {
  loadKubeConfig,
  KubeConfigError,
  type KubernetesConfig,
  type KubeConfigEnvironment,
} from './kubeconfig.js';
export {
  createKubeClusterState,
  type KubeClusterState,
  type KubeClusterStateOptions,
  type ClusterStateStats,
  type ReflectorStats,
} from './kube-cluster-state.js';
export { createStaticClusterState } from './static-cluster-state.js';
export { SERVICE_NAME_LABEL } from './endpoint-slice-index.js';
export type { LookupStats } from './on-demand-lookup.js';
export type { ApiServerAccess } from './api-access.js';
export { ApiClient, ApiStatusError, jsonPoster } from './api-client.js';
