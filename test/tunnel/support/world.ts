/**
 * The cluster every tunnel suite uses: a real gateway (fake API server, real
 * bearer-token issuer) with tunnels on, and real TCP backends behind Services
 * and Pods of namespace team-a:
 *
 *   services/echo    port 7    → echo backend      pods/echo-0 (container port `echo`)
 *   services/sink    port 9    → sink backend      (hashes what it gets)
 *   services/dying   port 11   → dying backend     (resets after 64 KiB)
 *   services/refused port 5432 → 127.0.0.1:1      (nothing listens: refused)
 *   services/closed  port 13   → 127.0.0.2:1023, a port tunnels.ports does not allow
 *
 * tunnels.ports allows port 1 (the refusing one), tunnels.portRanges 30000–65535
 * (where every server listening on port 0 lands).
 *
 * Static rules: group `devs` may tunnel to team-a's services and pods and use
 * their proxy; group `viewers` may only GET services/proxy (a tunnel needs
 * more). Tokens: alice (devs), bob (viewers), each minted against the
 * gateway's clock so a test may move it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../../src/config/schema.js';
import { endpointSlice, pod, service, type KubeObject } from '../../support/fake-apiserver.js';
import { startHarness, type Harness, type HarnessOptions } from '../../support/gateway-harness.js';
import { startJwtIssuer, type JwtIssuer } from '../../support/jwt-issuer.js';
import { ManualClock } from '../../support/manual-clock.js';
import { createTestCA } from '../../support/tls.js';
import { trustedIssuer } from '../../security/support/world.js';
import { REFUSING, dying, echo, sink, startBackend, type Backend } from './backends.js';

export const NS = '/api/v1/namespaces/team-a';

export interface TunnelWorld {
  h: Harness;
  clock: ManualClock;
  issuer: JwtIssuer;
  echo: Backend;
  sink: Backend;
  dying: Backend;
  alice: string;
  bob: string;
  /** A token for `sub` in `groups`, valid `seconds` from the gateway's clock. */
  mint(sub: string, groups: string[], seconds?: number): Promise<string>;
  /** The audit events written so far. */
  audit(): Record<string, unknown>[];
  /** A metric's value from /metrics (sum over label sets matching `labels`). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export interface TunnelWorldOptions {
  /** Merged over the world's config (sections shallow-merged). */
  config?: ConfigInput;
  /** More objects, e.g. ones pointing at a test's own backend. */
  objects?: (backends: { echo: Backend; sink: Backend }) => KubeObject[];
  api?: HarnessOptions['api'];
}

/** A Service with one port, its EndpointSlice and its Pod, all pointing at `host:port`. */
export function tcpService(name: string, servicePort: number, host: string, port: number): KubeObject[] {
  return [
    service('team-a', name, [{ name: 'tcp', port: servicePort, targetPort: port }]),
    endpointSlice('team-a', name, [{ ip: host, pod: `${name}-0` }], [{ name: 'tcp', port }]),
    pod('team-a', `${name}-0`, host, [{ name: 'tcp', containerPort: port }]),
  ];
}

export const RULES = [
  {
    groups: ['devs'],
    namespaces: ['team-a'],
    resources: ['services' as const, 'pods' as const],
    verbs: ['get' as const, 'create' as const],
    subresources: ['proxy' as const, 'portforward' as const],
  },
  { groups: ['viewers'], namespaces: ['team-a'], resources: ['services' as const], verbs: ['get' as const] },
];

export async function startTunnelWorld(o: TunnelWorldOptions = {}): Promise<TunnelWorld> {
  const ca = await createTestCA();
  const [issuer, echoBackend, sinkBackend, dyingBackend] = await Promise.all([
    startJwtIssuer(ca),
    startBackend('127.0.0.2', echo),
    startBackend('127.0.0.3', sink),
    startBackend('127.0.0.4', dying(64 * 1024)),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'bastion-tunnel-'));
  const auditFile = join(dir, 'audit.log');
  const clock = new ManualClock();
  const extra = o.config ?? {};
  const h = await startHarness({
    insecureNoAuth: false,
    clock,
    api: o.api,
    objects: [
      ...tcpService('echo', 7, echoBackend.host, echoBackend.port),
      ...tcpService('sink', 9, sinkBackend.host, sinkBackend.port),
      ...tcpService('dying', 11, dyingBackend.host, dyingBackend.port),
      ...tcpService('refused', 5432, REFUSING.host, REFUSING.port),
      ...tcpService('closed', 13, echoBackend.host, 1023),
      ...(o.objects?.({ echo: echoBackend, sink: sinkBackend }) ?? []),
    ],
    config: {
      ...extra,
      tunnels: {
        enabled: true,
        ports: [REFUSING.port],
        portRanges: ['30000-65535'],
        ...extra.tunnels,
      },
      authentication: { jwt: [trustedIssuer(issuer, ca)], ...extra.authentication },
      authorization: { rules: RULES, ...extra.authorization },
      upstream: { allowedAddresses: ['127.0.0.0/8'], connectTimeout: '2s', ...extra.upstream },
      logging: { level: 'silent', audit: { file: auditFile }, ...extra.logging },
    },
  });
  const mint = (sub: string, groups: string[], seconds = 3600) =>
    issuer.mint({ aud: 'kube-bastion', sub, groups, exp: Math.floor(clock.now() / 1000) + seconds });
  const audit = () => {
    try {
      return readFileSync(auditFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch {
      return [];
    }
  };
  return {
    h,
    clock,
    issuer,
    echo: echoBackend,
    sink: sinkBackend,
    dying: dyingBackend,
    alice: await mint('alice', ['devs']),
    bob: await mint('bob', ['viewers']),
    mint,
    audit,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${h.adminURL}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
          sum += Number(line.slice(line.lastIndexOf(' ') + 1));
        }
      }
      return sum;
    },
    async close() {
      await h.close();
      await Promise.all([issuer.close(), echoBackend.close(), sinkBackend.close(), dyingBackend.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
