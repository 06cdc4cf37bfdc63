/**
 * `kube-bastion demo`: the whole product on one machine with no cluster and no
 * IdP — an embedded OpenID Provider (alice, bob), sample upstreams on
 * loopback (web apps, a WebSocket echo, a TCP key-value store for tunnels) and
 * the gateway in front of them with `kubernetes: none` and tunnels on.
 * Development only: random secrets, in-memory IdP, plain HTTP.
 */
import type net from 'node:net';
import type { Config } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import type { Gateway } from '../server/gateway.js';
import { demoConfig } from './config.js';
import { startDemoIdP, type DemoIdP } from './idp.js';
import { closeServer, freePort, listenLoopback } from './loopback.js';
import { createEchoSocket } from './upstreams/echo-socket.js';
import { createKeyValueServer } from './upstreams/kv-store.js';
import { createNotesApp } from './upstreams/notes-app.js';
import { createWhoami } from './upstreams/whoami.js';
import { DEMO_USERS } from './users.js';

export interface DemoOptions {
  /** Public port of the gateway; 0 picks a free one. */
  port: number;
  /** Turn on host routing with this suffix (tests; needs DNS for `*.suffix`). */
  hostSuffix?: string;
  /** Host name in the public URL instead of 127.0.0.1 (with hostSuffix). */
  publicHost?: string;
}

export interface Demo {
  /** The URL to open. */
  url: string;
  issuer: string;
  config: Config;
  gateway: Gateway;
  close(): Promise<void>;
}

const READY_WITHIN_MS = 4_000;

async function waitUntilReady(gateway: Gateway): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (!gateway.isReady()) {
    if (Date.now() > deadline)
      throw new Error('the demo gateway did not become ready (is the embedded IdP reachable?)');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts everything; the caller owns the result and must close() it. */
export async function startDemo(o: DemoOptions): Promise<Demo> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(o, o.port === 0 ? await freePort() : o.port);
    } catch (err) {
      // A port found free a moment ago can be taken before the gateway binds it: pick another.
      const raced = o.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!raced || attempt === 3) throw err;
    }
  }
}

async function startOnce(o: DemoOptions, port: number): Promise<Demo> {
  // The gateway's modules take the longest to load: start now, alongside the IdP and upstreams.
  const gatewayModule = import('../server/gateway.js');
  const publicURL = `http://${o.publicHost ?? '127.0.0.1'}:${port}`;
  const servers: (net.Server & { closeAllConnections(): void })[] = [];
  let idp: DemoIdP | undefined;
  let gateway: Gateway | undefined;
  const close = async () => {
    await gateway?.close();
    await Promise.all(servers.map(closeServer));
    await idp?.close();
  };
  try {
    const start = async (server: net.Server & { closeAllConnections(): void }) => {
      servers.push(server);
      return listenLoopback(server);
    };
    const [notes, whoami, echo, kv] = await Promise.all([
      start(createNotesApp()),
      start(
        createWhoami({
          gatewayURL: publicURL,
          jwksURL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
          audiences: ['team-a/whoami', 'team-b/whoami'],
        }),
      ),
      start(createEchoSocket()),
      start(createKeyValueServer()),
    ]);
    idp = await startDemoIdP({
      redirectURI: `${publicURL}/auth/callback`,
      postLogoutRedirectURI: `${publicURL}/`,
    });
    const config = demoConfig({
      port,
      issuer: idp.issuer,
      clientID: idp.clientID,
      clientSecret: idp.clientSecret,
      upstreams: { notes, whoami, echo, kv },
      hostSuffix: o.hostSuffix,
      publicURL,
    });
    const { createGateway } = await gatewayModule;
    gateway = await createGateway({ config, logger: createLogger(config.logging) });
    await gateway.listen();
    await waitUntilReady(gateway);
    return { url: `${publicURL}/`, issuer: idp.issuer, config, gateway, close };
  } catch (err) {
    await gatewayModule.catch(() => undefined);
    await close().catch(() => undefined);
    throw err;
  }
}

const origin = (demo: Demo) => new URL(demo.url).origin;

export function banner(demo: Demo): string {
  const users = DEMO_USERS.map((u) => `    ${u.username.padEnd(6)} groups: ${u.groups.join(', ')}`).join(
    '\n',
  );
  return `
  kube-bastion demo — FOR TRYING IT OUT ONLY, NEVER FOR PRODUCTION
  (random secrets, in-memory identity provider, plain HTTP, loopback only)

  Open:  ${demo.url}

  Sign in as one of these users, with any password:
${users}

  alice may open the services of namespace team-a, bob those of team-b.
  Sample services: team-a/notes (a web app with links and a form),
  team-a/whoami and team-b/whoami (show the identity the gateway sends),
  team-b/echo (WebSocket), team-a/reports (no ready pods: a 503 page),
  team-a/kv (plain TCP: a tiny key-value store that redis-cli and nc speak).

  From a terminal in this folder, as alice (npx runs this checkout's kube-bastion):
    npx kube-bastion login ${origin(demo)}
    curl -H "Authorization: Bearer $(npx kube-bastion token)" ${demo.url}api/v1/namespaces/team-a/services/whoami/proxy/
    npx kube-bastion connect team-a/kv:6379 --listen 16379
    redis-cli -p 16379 SET greeting hello      (or: nc 127.0.0.1 16379, then type PING)

  Embedded IdP: ${demo.issuer}
  Press Ctrl+C to stop.
`;
}

/** The CLI entry: start, print the banner, stop cleanly on SIGINT/SIGTERM. */
export async function runDemo(o: { port: number }): Promise<void> {
  let demo: Demo;
  try {
    demo = await startDemo({ port: o.port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE' ? `port ${o.port} is already in use (--port 0 picks a free one)` : e.message;
    process.stderr.write(`kube-bastion demo: cannot start: ${why}\n`);
    process.exit(1);
  }
  process.stdout.write(banner(demo));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\n  stopping the demo…\n');
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // `on`, not `once`: a second Ctrl+C while stopping must not kill the process half-way.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
