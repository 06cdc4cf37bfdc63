/**
 * The world every hostile-input suite attacks: a real gateway (fake API
 * server, real bearer-token issuer) whose static rules open exactly one
 * service and one pod in namespace team-a to group `devs`. Three echo
 * upstreams make a bypass visible:
 *
 *   a       127.0.0.2  team-a/web (port `http`) and pod team-a/web-0   ← the only thing alice may reach
 *   secret  127.0.0.3  team-a/secret and pod team-a/secret-0           ← same namespace, not granted
 *   b       127.0.0.4  team-b/web and pod team-b/web-0                 ← another namespace
 *   node    127.0.0.5  node-1's kubelet                                ← node proxy is off
 *
 * `secret`, `b` and `node` must never receive a single request; suites assert
 * that after every case and once more at the end.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../../src/clock.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import { endpointSlice, node, pod, service } from '../../support/fake-apiserver.js';
import { startEchoServer, type EchoServer, type Recorded } from '../../support/echo-server.js';
import { startHarness, type Harness } from '../../support/gateway-harness.js';
import { startJwtIssuer, type JwtIssuer } from '../../support/jwt-issuer.js';
import { createTestCA, type TestCA } from '../../support/tls.js';
import { captureLogs, type LogCapture } from './log-capture.js';

export const NS_A = '/api/v1/namespaces/team-a';
export const NS_B = '/api/v1/namespaces/team-b';
/** The one service path alice may use. */
export const WEB = `${NS_A}/services/web:http/proxy`;

export interface World {
  h: Harness;
  ca: TestCA;
  issuer: JwtIssuer;
  a: EchoServer;
  secret: EchoServer;
  b: EchoServer;
  node: EchoServer;
  log: LogCapture;
  /** The audit events written so far (one JSON object per line). */
  audit(): Record<string, unknown>[];
  /** The audit stream's raw lines so far, whole lines only (what a leak scan reads). */
  auditLines(): string[];
  /** A valid token for alice (group devs, granted team-a/web) — the attacker's own, legitimate credential. */
  alice: string;
  /** A valid token for bob (no grant). */
  bob: string;
  /** Every token minted so far: none may ever appear in a response or log line. */
  secrets: Set<string>;
  /** Upstream requests recorded on every echo server. */
  seen(): number;
  /** Requests that reached an upstream alice may not reach. */
  forbiddenSeen(): Recorded[];
  close(): Promise<void>;
}

export interface WorldOptions {
  /** Merged over the world's config (sections shallow-merged by the harness). */
  config?: ConfigInput;
  /** Merged into the world's `authentication.jwt[0]` entry (rules, allowSystemNames, …). */
  issuer?: Record<string, unknown>;
  /** The gateway's clock (test/support/manual-clock.ts); the system clock by default. */
  clock?: Clock;
}

export const RULES = [
  {
    groups: ['devs'],
    namespaces: ['team-a'],
    resources: ['services' as const],
    names: ['web', 'web:*', 'http:web:*'],
    verbs: ['get' as const, 'create' as const, 'update' as const, 'patch' as const, 'delete' as const],
  },
  {
    groups: ['devs'],
    namespaces: ['team-a'],
    resources: ['pods' as const],
    names: ['web-0', 'web-0:*'],
    verbs: ['get' as const, 'create' as const],
  },
];

/** The test issuer as a trusted `authentication.jwt` entry: `sub` is the user, `groups` the groups, no prefixes. */
export function trustedIssuer(issuer: JwtIssuer, ca: TestCA) {
  return {
    issuer: { url: issuer.url, audiences: ['kube-bastion'], certificateAuthority: ca.caPem },
    claimMappings: { username: { claim: 'sub', prefix: '' }, groups: { claim: 'groups', prefix: '' } },
  };
}

export async function startWorld(o: WorldOptions = {}): Promise<World> {
  const ca = await createTestCA();
  const [issuer, a, secret, b, nodeEcho] = await Promise.all([
    startJwtIssuer(ca),
    startEchoServer({ host: '127.0.0.2', name: 'a' }),
    startEchoServer({ host: '127.0.0.3', name: 'secret' }),
    startEchoServer({ host: '127.0.0.4', name: 'b' }),
    startEchoServer({ host: '127.0.0.5', name: 'node' }),
  ]);
  const log = captureLogs();
  const dir = mkdtempSync(join(tmpdir(), 'bastion-security-'));
  const auditFile = join(dir, 'audit.log');
  const svc = (ns: string, name: string, e: EchoServer) => [
    service(ns, name, [{ name: 'http', port: 80, targetPort: e.port }]),
    endpointSlice(ns, name, [{ ip: e.host, pod: `${name}-0` }], [{ name: 'http', port: e.port }]),
    pod(ns, `${name}-0`, e.host, [{ name: 'http', containerPort: e.port }]),
  ];
  const extra = o.config ?? {};
  const released = async () => {
    await Promise.all([issuer.close(), a.close(), secret.close(), b.close(), nodeEcho.close()]);
    rmSync(dir, { recursive: true, force: true });
  };
  const h = await startHarness({
    insecureNoAuth: false,
    clock: o.clock,
    logger: log.logger,
    objects: [
      ...svc('team-a', 'web', a),
      ...svc('team-a', 'secret', secret),
      ...svc('team-b', 'web', b),
      node('node-1', nodeEcho.host, nodeEcho.port),
    ],
    config: {
      ...extra,
      authentication: { jwt: [{ ...trustedIssuer(issuer, ca), ...o.issuer }], ...extra.authentication },
      authorization: { rules: RULES, ...extra.authorization },
      logging: { level: 'debug', audit: { file: auditFile }, ...extra.logging },
    },
  }).catch(async (err: unknown) => {
    await released(); // e.g. its port was taken meanwhile (startSignInWorld tries another)
    throw err;
  });
  const secrets = new Set<string>();
  const mint = async (sub: string, groups: string[]) => {
    const t = await issuer.mint({ aud: 'kube-bastion', sub, groups });
    secrets.add(t);
    return t;
  };
  const echoes = [a, secret, b, nodeEcho];
  const auditLines = () => {
    try {
      // Whole lines only: the stream may be in the middle of writing the last one.
      const text = readFileSync(auditFile, 'utf8');
      return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
    } catch {
      return []; // nothing audited yet
    }
  };
  return {
    h,
    ca,
    issuer,
    a,
    secret,
    b,
    node: nodeEcho,
    log,
    audit: () => auditLines().map((l) => JSON.parse(l) as Record<string, unknown>),
    auditLines,
    alice: await mint('alice', ['devs']),
    bob: await mint('bob', ['qa']),
    secrets,
    seen: () => echoes.reduce((n, e) => n + e.requests.length, 0),
    forbiddenSeen: () => [...secret.requests, ...b.requests, ...nodeEcho.requests],
    async close() {
      await h.close();
      await released();
    },
  };
}
