/**
 * The rows of the benchmark: the ceiling, the reference proxy, two Node
 * floors (http-proxy-3, undici), and kube-bastion in the shapes a deployment takes (bench/lib/gateway.ts).
 */
import { gatewayCLI, type Baseline } from './lib/build.js';
import type { Contestant } from './lib/contestant.js';
import { processContestant } from './lib/contestant.js';
import { gatewayContestant, nodeFlags, type GatewayShape } from './lib/gateway.js';
import { imageNodeFlags } from './lib/image-flags.js';
import { startNginx } from './lib/nginx.js';

export type { BenchContext, Contestant, Launch, Running } from './lib/contestant.js';
export { processContestant } from './lib/contestant.js';
export { GATEWAY_PATH, gatewayConfig } from './lib/gateway.js';

/** A second copy of the backend, on the contestant's core: the ceiling. */
export const direct: Contestant = {
  name: 'direct',
  description: 'nginx answering 1 KiB itself (a second instance of the backend, one worker): the ceiling',
  async start(ctx) {
    const n = await startNginx({ core: ctx.core });
    return { url: n.url, pid: n.proc.pid, stop: () => n.stop() };
  },
};

export const nginxProxy: Contestant = {
  name: 'nginx',
  description: 'nginx 1 worker, proxy_pass with upstream keepalive 64 (the reference reverse proxy)',
  async start(ctx) {
    const n = await startNginx({ core: ctx.core, upstreamPort: ctx.backendPort });
    return { url: n.url, pid: n.proc.pid, stop: () => n.stop() };
  },
};

/** A bench script as its own Node process, given its port and the backend's URL. */
const nodeScript = (name: string, description: string, script: string): Contestant =>
  processContestant(name, description, (ctx, port) => ({
    command: process.execPath,
    args: [...nodeFlags(), '--import', 'tsx', script, String(port), `http://127.0.0.1:${ctx.backendPort}`],
    url: `http://127.0.0.1:${port}/`,
  }));

export const bareNode = nodeScript(
  'bare-node',
  'http-proxy-3 + keep-alive agent, nothing else (bench/bare-proxy.ts): the Node proxy most people would write',
  'bench/bare-proxy.ts',
);

export const bareUndici = nodeScript(
  'bare-undici',
  "node's HTTP server + one undici Pool, nothing else (bench/bare-undici.ts): the floor for a Node proxy on the gateway's client",
  'bench/bare-undici.ts',
);

/** The kube-bastion rows: name → shape and what the report says of it. */
const SHAPES: Record<string, { shape: GatewayShape; description: string }> = {
  'kube-bastion': {
    shape: {},
    description:
      'kube-bastion serve (compiled, as shipped) --insecure-no-auth, kubernetes: none + static.services, logging warn, audit off',
  },
  'kube-bastion-jwt': {
    shape: { jwt: true, rules: true },
    description:
      'kube-bastion with bearer-JWT (ES256) authentication and a static authorization rule; identity headers and signed assertion on (defaults)',
  },
  'kube-bastion-rbac': {
    shape: { jwt: true, rbac: true },
    description:
      'bearer JWT, authorization by SubjectAccessReview to the fake API server (answers cached as configured: defaults), the Service from its watch',
  },
  'kube-bastion-audit': {
    shape: { jwt: true, rules: true, audit: true },
    description: 'kube-bastion-jwt with the audit trail on: one line per request to a file',
  },
};

const gateway = (name: string) =>
  gatewayContestant(name, SHAPES[name].description, SHAPES[name].shape, () => gatewayCLI(), imageNodeFlags);

export const bastionNoAuth = gateway('kube-bastion');
export const bastionJWT = gateway('kube-bastion-jwt');
export const bastionRBAC = gateway('kube-bastion-rbac');
export const bastionAudit = gateway('kube-bastion-audit');

export const GATEWAY_ROWS = Object.keys(SHAPES);

/** The baseline build in the shape of row `as` (default kube-bastion-jwt): one more contestant, named `baseline`. */
export function baselineContestant(baseline: Baseline, as = 'kube-bastion-jwt'): Contestant {
  const row = SHAPES[as];
  if (!row) throw new Error(`--baseline-as ${as}: not a kube-bastion row (${GATEWAY_ROWS.join(', ')})`);
  const description = `${as} built from ${baseline.ref} (${baseline.commit.slice(0, 12)})`;
  return gatewayContestant(
    'baseline',
    description,
    row.shape,
    () => baseline.cli,
    () => baseline.nodeFlags,
  );
}

export const ALL: readonly Contestant[] = [
  direct,
  nginxProxy,
  bareNode,
  bareUndici,
  bastionNoAuth,
  bastionJWT,
  bastionRBAC,
  bastionAudit,
];
