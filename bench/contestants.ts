/**
 * What the benchmark measures. A contestant is a process to start and a URL
 * (plus headers) to load; everything else — pinning, CPU accounting, rounds —
 * is the harness's job, so adding one is a few lines here.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIENCE, ISSUER, startIssuer, USER } from './lib/issuer.js';
import { gatewayCLI } from './lib/build.js';
import { startNginx } from './lib/nginx.js';
import { freePort, startProcess, waitUntilServing, type Proc } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Extra flags for the Node contestants (`BENCH_NODE_ARGS="--cpu-prof"`; NODE_OPTIONS refuses some). */
const nodeFlags = (): string[] => process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];

export interface BenchContext {
  /** Port of the 1 KiB backend every proxy forwards to. */
  backendPort: number;
  /** A scratch directory for config files. */
  dir: string;
  /** The core the contestant runs on (undefined: no pinning). */
  core: number | undefined;
}

export interface Running {
  url: string;
  headers?: Record<string, string>;
  /** The process whose CPU time is the contestant's (with its descendants). */
  pid: number;
  stop(): Promise<void>;
}

export interface Contestant {
  name: string;
  /** One line for the report: what it is and how it is configured. */
  description: string;
  start(ctx: BenchContext): Promise<Running>;
}

/** How to start a process contestant on `port` and where to load it. */
export interface Launch {
  command: string;
  args: string[];
  url: string;
  headers?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** A contestant that is a command line: started, polled until it answers 200, then measured. */
export function processContestant(
  name: string,
  description: string,
  launch: (ctx: BenchContext, port: number) => Launch | Promise<Launch>,
): Contestant {
  return {
    name,
    description,
    async start(ctx) {
      const port = await freePort();
      const { command, args, url, headers, env } = await launch(ctx, port);
      const proc: Proc = startProcess(command, args, { core: ctx.core, cwd: ROOT, env });
      try {
        await waitUntilServing(url, proc, headers);
      } catch (err) {
        await proc.stop();
        throw err;
      }
      return { url, headers, pid: proc.pid, stop: () => proc.stop() };
    },
  };
}

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

export const bareNode = processContestant(
  'bare-node',
  'http-proxy-3 + keep-alive agent, nothing else (bench/bare-proxy.ts): the floor for any Node proxy',
  (ctx, port) => ({
    command: process.execPath,
    args: [
      ...nodeFlags(),
      '--import',
      'tsx',
      'bench/bare-proxy.ts',
      String(port),
      `http://127.0.0.1:${ctx.backendPort}`,
    ],
    url: `http://127.0.0.1:${port}/`,
  }),
);

/** Config shared by the kube-bastion contestants: one static Service in front of the backend, quiet logs. */
export function gatewayConfig(ctx: BenchContext, port: number, extra = ''): string {
  return `listen: { address: 127.0.0.1, port: ${port}, shutdown: { delay: 0s, timeout: 2s } }
admin: { address: 127.0.0.1, port: 0 }
kubernetes: none
static:
  services:
    - namespace: bench
      name: backend
      ports: [{ name: http, port: 80, targetPort: ${ctx.backendPort} }]
      endpoints: ["127.0.0.1:${ctx.backendPort}"]
upstream:
  allowedAddresses: ["127.0.0.0/8"]
logging: { level: warn, audit: { enabled: false } }
${extra}`;
}

export const GATEWAY_PATH = '/api/v1/namespaces/bench/services/backend:http/proxy/';

export const bastionNoAuth = processContestant(
  'kube-bastion',
  'kube-bastion serve (compiled, as shipped) --insecure-no-auth, kubernetes: none + static.services, logging warn, audit off',
  (ctx, port) => {
    const file = path.join(ctx.dir, `bastion-${port}.yaml`);
    writeFileSync(file, gatewayConfig(ctx, port));
    return {
      command: process.execPath,
      args: [...nodeFlags(), gatewayCLI(), 'serve', '--config', file, '--insecure-no-auth'],
      url: `http://127.0.0.1:${port}${GATEWAY_PATH}`,
    };
  },
);

/** Bearer JWT verified against a (local) issuer's JWKS, then a static rule: the common production shape. */
export const bastionJWT: Contestant = {
  name: 'kube-bastion-jwt',
  description:
    'kube-bastion with bearer-JWT (ES256) authentication and a static authorization rule; identity headers and signed assertion on (defaults)',
  async start(ctx) {
    const issuer = await startIssuer();
    const auth = `authentication:
  jwt:
    - issuer: { url: ${ISSUER}, discoveryURL: "${issuer.discoveryURL}", audiences: [${AUDIENCE}] }
      claimMappings: { username: { claim: sub, prefix: "" } }
authorization:
  rules:
    - { users: [${USER}], namespaces: [bench], resources: [services], verbs: [get] }
`;
    const contestant = processContestant('kube-bastion-jwt', '', (c, port) => {
      const file = path.join(c.dir, `bastion-jwt-${port}.yaml`);
      writeFileSync(file, gatewayConfig(c, port, auth));
      return {
        command: process.execPath,
        args: [...nodeFlags(), gatewayCLI(), 'serve', '--config', file],
        url: `http://127.0.0.1:${port}${GATEWAY_PATH}`,
        headers: { authorization: `Bearer ${issuer.token}` },
      };
    });
    try {
      const running = await contestant.start(ctx);
      return { ...running, stop: () => running.stop().finally(() => issuer.close()) };
    } catch (err) {
      await issuer.close();
      throw err;
    }
  },
};

export const ALL: readonly Contestant[] = [direct, nginxProxy, bareNode, bastionNoAuth, bastionJWT];
