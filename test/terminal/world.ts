/**
 * A world for terminal sign-in: the real oidc-provider, an echo upstream
 * published as team-a/echo and team-b/echo, one or two gateway replicas
 * behind a front door (their publicURL), and the terminal state in the store
 * a test picks — memory (`kubernetes: none`), Secrets in the fake API server,
 * or a real redis-server. The gateways' clock is injected.
 *
 * `cli()` runs `node --import tsx src/cli.ts …` with its own XDG_CONFIG_HOME
 * and BROWSER; `signIn()` drives Chromium through the IdP's form.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { eventually } from '../support/eventually.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { AuditEvent } from '../../src/observability/audit.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { FROM_SOURCE, startCLI, type CLIProcess } from '../cli/cli-process.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import {
  endpointSlice,
  service,
  startFakeApiServer,
  type AccessGrant,
  type FakeApiServer,
} from '../support/fake-apiserver.js';
import { startFrontDoor, type FrontDoor } from '../support/front-door.js';
import { s256, type TokenResponse } from '../../src/authn/terminal/protocol.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { ManualClock } from '../support/manual-clock.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { startRedis, type RedisServer } from '../support/redis.js';

export const SECRET = 'a-terminal-test-session-secret-of-32+chars';
export const ECHO_A = '/api/v1/namespaces/team-a/services/echo:http/proxy/';
export const ECHO_B = '/api/v1/namespaces/team-b/services/echo:http/proxy/';
type Authn = NonNullable<ConfigInput['authentication']>;

export interface WorldOptions {
  replicas?: number;
  store?: 'memory' | 'kubernetes' | 'redis';
  cli?: Authn['cli'];
  session?: Authn['session'];
  /** SubjectAccessReview grants (kubernetes store only: RBAC is on there). */
  grants?: AccessGrant[];
  /** TCP tunnels on (no idle timeout, no pings), group team-a may open them to team-a's Services. */
  tunnels?: boolean;
}

export interface World {
  idp: TestIdP;
  echo: EchoServer;
  front: FrontDoor;
  /** The gateways' publicURL: the front door. */
  publicURL: string;
  replicas: Gateway[];
  /** Each replica's own address (for requests that must reach one of them). */
  replicaURLs: string[];
  clock: ManualClock;
  api?: FakeApiServer;
  redis?: RedisServer;
  dir: string;
  audit(): AuditEvent[];
  /** The CLI as a child process, with this world's config folder (or another) and no browser. */
  cli(args: string[], env?: NodeJS.ProcessEnv): CLIProcess;
  /** A fresh XDG_CONFIG_HOME. */
  configHome(): string;
  close(): Promise<void>;
}

const testLogger = () =>
  process.env.TERMINAL_TEST_LOG ? createLogger({ level: 'debug', format: 'json' }) : silentLogger();

function clusterObjects(echoPort: number) {
  return ['team-a', 'team-b'].flatMap((ns) => [
    service(ns, 'echo', [{ name: 'http', port: 80, targetPort: echoPort }]),
    endpointSlice(ns, 'echo', [{ ip: '127.0.0.1' }], [{ name: 'http', port: echoPort }]),
  ]);
}

const staticServices = (echoPort: number) =>
  ['team-a', 'team-b'].map((namespace) => ({
    namespace,
    name: 'echo',
    ports: [{ name: 'http', port: 80, targetPort: echoPort }],
    endpoints: ['127.0.0.1'],
  }));

export async function startWorld(o: WorldOptions = {}): Promise<World> {
  const store = o.store ?? 'memory';
  const dir = mkdtempSync(join(tmpdir(), 'kb-terminal-'));
  const auditFile = join(dir, 'audit.log');
  const clock = new ManualClock();
  const [idp, echo, front] = await Promise.all([startTestIdP(), startEchoServer(), startFrontDoor()]);
  idp.setClients([gatewayClient(front.url)]);
  const api =
    store === 'kubernetes'
      ? await startFakeApiServer({
          createPodsForSlices: true,
          objects: clusterObjects(echo.port),
          grants: o.grants,
        })
      : undefined;
  const redis = store === 'redis' ? await startRedis() : undefined;
  const config = parseConfig(
    {
      listen: { address: '127.0.0.1', port: 0, shutdown: { delay: '0s', timeout: '2s' } },
      admin: { address: '127.0.0.1', port: 0 },
      publicURL: front.url,
      kubernetes: api ? { kubeconfig: api.writeKubeconfig(join(dir, 'kubeconfig')) } : 'none',
      ...(api ? {} : { static: { services: staticServices(echo.port) } }),
      upstream: { allowedAddresses: ['127.0.0.0/8'] },
      ...(o.tunnels ? { tunnels: { enabled: true, idleTimeout: '0', keepalive: '0s' } } : {}),
      authorization: {
        rules: [
          { groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['*'] },
          ...(o.tunnels
            ? [
                {
                  groups: ['team-a'],
                  namespaces: ['team-a'],
                  resources: ['services'],
                  subresources: ['portforward'],
                  verbs: ['create'],
                },
              ]
            : []),
        ],
        kubernetesRBAC: { enabled: !!api },
      },
      authentication: {
        oidc: {
          issuer: idp.issuer,
          clientID: 'kube-bastion',
          clientSecret: 'kube-bastion-secret',
          scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        },
        session: {
          secret: SECRET,
          ...(redis ? { store: 'redis' as const, redis: { url: redis.url } } : {}),
          ...o.session,
        },
        cli: { devicePollInterval: '1s', ...o.cli },
      },
      logging: { level: 'silent', audit: { file: auditFile } },
    },
    { env: {} },
  );
  const replicas: Gateway[] = [];
  const replicaURLs: string[] = [];
  for (let i = 0; i < (o.replicas ?? 1); i++) {
    const gateway = await createGateway({ config, logger: testLogger(), clock });
    replicas.push(gateway);
    replicaURLs.push((await gateway.listen()).url);
  }
  front.route(replicaURLs.map((u) => Number(new URL(u).port)));
  let homes = 0;
  const configHome = () => {
    const home = join(dir, `home-${homes++}`);
    return home;
  };
  const defaultHome = configHome();
  return {
    idp,
    echo,
    front,
    publicURL: front.url,
    replicas,
    replicaURLs,
    clock,
    api,
    redis,
    dir,
    audit: () =>
      readFileSync(auditFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEvent),
    configHome,
    cli: (args, env = {}) =>
      startCLI([...FROM_SOURCE, ...args], {
        PATH: process.env.PATH,
        HOME: dir,
        XDG_CONFIG_HOME: defaultHome,
        BROWSER: '',
        ...env,
      }),
    async close() {
      await Promise.allSettled(replicas.map((g) => g.close()));
      await Promise.allSettled([idp.close(), echo.close(), front.close(), api?.stop(), redis?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the exit code once the process has ended by itself (never kills it). */
export async function exited(p: CLIProcess): Promise<number | null> {
  const child = p.child;
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return child.exitCode;
}

/** Runs the CLI to its end: exit code and output. */
export async function run(world: World, args: string[], env?: NodeJS.ProcessEnv) {
  const p = world.cli(args, env);
  const code = await exited(p);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Fills the test IdP's sign-in form (the page must be at it). */
export async function signInAtIdP(page: Page, user: string): Promise<void> {
  await page.waitForSelector('#login');
  await page.fill('#login', user);
  await page.fill('#password', user);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/interaction/')), page.click('#submit')]);
}

/** A script for $BROWSER that writes the URL it is given to `file`. */
export function browserScript(dir: string, file: string): string {
  const script = join(dir, 'open-url.sh');
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${file}'\n`, { mode: 0o755 });
  return script;
}

/** The URL `kube-bastion login` printed for the browser. */
export const LOGIN_URL = /(http:\/\/127\.0\.0\.1:\d+\/auth\/cli\/authorize\?\S+)/;
/** The code `kube-bastion login --device` printed. */
export const USER_CODE = /\n\s+([B-Z]{4}-[B-Z]{4})\n/;

/** A form POST as the CLI sends it; the JSON answer. */
export async function postForm(
  url: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The hidden inputs of the first form on a page. */
export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1]] = m[2].replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)));
  return fields;
}

export interface LoopbackAttempt {
  verifier: string;
  state: string;
  port: number;
  url: string;
}

/** What `kube-bastion login` would open: fresh verifier, challenge and state. */
export function loopbackAttempt(base: string, port = 50_000): LoopbackAttempt {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const q = new URLSearchParams({
    port: String(port),
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { verifier, state, port, url: `${base}/auth/cli/authorize?${q.toString()}` };
}

/** Presses a button of a confirmation page as the browser would (a same-origin form POST). */
export function submit(person: FetchBrowser, url: string, fields: Record<string, string>, origin: string) {
  return person.request(url, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
  });
}

/**
 * The loopback flow over plain HTTP (no CLI, no Chromium): `user` signs in and
 * presses Continue; the code from the redirect is redeemed with the verifier.
 * `at` picks the replica for each step (default: the front door) and may
 * bring a person who is signed in already (their browser session confirms).
 */
export async function protocolLogin(
  world: World,
  user: string,
  at: { page?: string; confirm?: string; redeem?: string; person?: FetchBrowser } = {},
): Promise<{ tokens: TokenResponse; person: FetchBrowser }> {
  const attempt = loopbackAttempt(at.page ?? world.publicURL);
  const person = at.person ?? new FetchBrowser();
  const page = await person.signIn(attempt.url, user);
  const html = await page.text();
  const post = await submit(
    person,
    `${at.confirm ?? world.publicURL}/auth/cli/authorize`,
    { ...hiddenFields(html), decision: 'allow' },
    world.publicURL,
  );
  const location = new URL(post.headers.get('location') ?? 'missing:');
  const code = location.searchParams.get('code') ?? '';
  const redeemed = await postForm(`${at.redeem ?? world.publicURL}/auth/cli/token`, {
    grant_type: 'authorization_code',
    code,
    code_verifier: attempt.verifier,
  });
  if (redeemed.status !== 200) throw new Error(`login failed: ${JSON.stringify(redeemed.body)}`);
  return { tokens: redeemed.body as unknown as TokenResponse, person };
}

/** A curl-like request with a bearer token. */
export const bearerGET = (url: string, token: string) =>
  fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });

export const refresh = (base: string, refreshToken: string) =>
  postForm(`${base}/auth/cli/token`, { grant_type: 'refresh_token', refresh_token: refreshToken });

/**
 * A WebSocket to the echo upstream through `base`, opened with a CLI token;
 * `closeCode()` moves the gateways' clock a recheck interval (10 s) at a time
 * until the gateway closes it, and resolves with the close code.
 */
export async function cliWebSocket(world: World, base: string, path: string, token: string) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return {
    ws,
    async closeCode(): Promise<number> {
      await eventually(
        () => {
          world.clock.advance(10_000);
          return ws.readyState !== WebSocket.OPEN;
        },
        10_000,
        50,
      );
      return closed;
    },
  };
}
