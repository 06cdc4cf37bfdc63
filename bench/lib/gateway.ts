/**
 * kube-bastion as a benchmark contestant: the compiled CLI (this tree's, or a
 * baseline commit's) in front of the 1 KiB backend, in one of the shapes a
 * deployment takes. What each shape adds to the base config:
 *
 *   jwt    bearer-JWT authentication (ES256, keys from a local issuer's JWKS)
 *   rules  a static authorization rule for the bench user
 *   rbac   the cluster instead of static.services: the fake API server holds
 *          the Service, its EndpointSlice and Pod, and a grant for the user;
 *          authorization by SubjectAccessReview, answers cached as configured
 *          (the defaults), so after the first request none is sent
 *   audit  the audit trail on, one line per request to a file
 *
 * Servers a shape needs (issuer, fake API server) run in the harness process,
 * so their CPU time is not the contestant's.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  endpointSlice,
  service,
  startFakeApiServer,
  type FakeApiServer,
} from '../../test/support/fake-apiserver.js';
import { processContestant, type BenchContext, type Contestant, type Running } from './contestant.js';
import { AUDIENCE, ISSUER, startIssuer, USER, type Issuer } from './issuer.js';

export const GATEWAY_PATH = '/api/v1/namespaces/bench/services/backend:http/proxy/';

export interface GatewayShape {
  jwt?: boolean;
  rules?: boolean;
  rbac?: boolean;
  audit?: boolean;
}

/** Extra flags for the Node contestants (`BENCH_NODE_ARGS="--cpu-prof"`; NODE_OPTIONS refuses some). */
export const nodeFlags = (): string[] => process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];

/** Where Services come from: one static Service in front of the backend, or the fake API server's. */
function clusterSection(ctx: BenchContext, api: FakeApiServer | undefined): string {
  if (api) return `kubernetes: { kubeconfig: ${api.writeKubeconfig(path.join(ctx.dir, 'kubeconfig'))} }`;
  return `kubernetes: none
static:
  services:
    - namespace: bench
      name: backend
      ports: [{ name: http, port: 80, targetPort: ${ctx.backendPort} }]
      endpoints: ["127.0.0.1:${ctx.backendPort}"]`;
}

function authSection(shape: GatewayShape, issuer: Issuer | undefined): string {
  const lines: string[] = [];
  if (issuer) {
    lines.push(`authentication:
  jwt:
    - issuer: { url: ${ISSUER}, discoveryURL: "${issuer.discoveryURL}", audiences: [${AUDIENCE}] }
      claimMappings: { username: { claim: sub, prefix: "" } }`);
  }
  const authz: string[] = [];
  if (shape.rules)
    authz.push(
      `  rules:\n    - { users: [${USER}], namespaces: [bench], resources: [services], verbs: [get] }`,
    );
  if (shape.rbac) authz.push('  kubernetesRBAC: { enabled: true }');
  if (authz.length > 0) lines.push(`authorization:\n${authz.join('\n')}`);
  return lines.join('\n');
}

/** The config file for one contestant on `port`. */
export function gatewayConfig(
  ctx: BenchContext,
  port: number,
  shape: GatewayShape = {},
  servers: { issuer?: Issuer; api?: FakeApiServer } = {},
): string {
  const audit = shape.audit
    ? `{ enabled: true, file: ${path.join(ctx.dir, `audit-${port}.log`)} }`
    : '{ enabled: false }';
  return `listen: { address: 127.0.0.1, port: ${port}, shutdown: { delay: 0s, timeout: 2s } }
admin: { address: 127.0.0.1, port: 0 }
${clusterSection(ctx, servers.api)}
upstream:
  allowedAddresses: ["127.0.0.0/8"]
logging: { level: warn, audit: ${audit} }
${authSection(shape, servers.issuer)}
`;
}

/** The backend as a Service of the fake API server, with a Pod owning its address and a grant for the bench user. */
async function benchCluster(backendPort: number): Promise<FakeApiServer> {
  return startFakeApiServer({
    objects: [
      service('bench', 'backend', [{ name: 'http', port: 80, targetPort: backendPort }]),
      endpointSlice('bench', 'backend', [{ ip: '127.0.0.1' }], [{ name: 'http', port: backendPort }]),
    ],
    createPodsForSlices: true,
    grants: [{ user: USER, namespace: 'bench', resource: 'services', subresource: 'proxy', verbs: ['get'] }],
  });
}

export function gatewayContestant(
  name: string,
  description: string,
  shape: GatewayShape,
  cli: () => string,
  /** The flags its image runs node with (image-flags.ts). */
  imageFlags: () => string[],
): Contestant {
  return {
    name,
    description,
    async start(ctx): Promise<Running> {
      const closers: Array<() => Promise<void>> = [];
      const close = () => Promise.all(closers.map((c) => c())).then(() => undefined);
      try {
        const issuer = shape.jwt ? await startIssuer() : undefined;
        if (issuer) closers.push(() => issuer.close());
        const api = shape.rbac ? await benchCluster(ctx.backendPort) : undefined;
        if (api) closers.push(() => api.stop());
        const inner = processContestant(name, description, (c, port) => {
          const file = path.join(c.dir, `${name}-${port}.yaml`);
          writeFileSync(file, gatewayConfig(c, port, shape, { issuer, api }));
          const insecure = issuer ? [] : ['--insecure-no-auth'];
          return {
            command: process.execPath,
            args: [...imageFlags(), ...nodeFlags(), cli(), 'serve', '--config', file, ...insecure],
            url: `http://127.0.0.1:${port}${GATEWAY_PATH}`,
            headers: issuer && { authorization: `Bearer ${issuer.token}` },
          };
        });
        const running = await inner.start(ctx);
        return { ...running, stop: () => running.stop().finally(close) };
      } catch (err) {
        await close();
        throw err;
      }
    },
  };
}
