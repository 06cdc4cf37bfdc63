/**
 * The gateway process: the public listener (proxy pipeline + the gateway's own
 * pages), the admin listener, and their lifecycle (start, graceful shutdown).
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { oversizedAnswerFor } from '../authn/session/oversized-request.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { ClusterState } from '../kube/cluster-state.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { cutSlowResponseReader } from '../proxy/slow-reader.js';
import { createAdminServer } from './admin.js';
import { assembleGateway, type Assembly } from './assemble.js';
import { answerClientError } from './client-error.js';
import { createHeaderLimit, parserHeaderLimit } from './header-limit.js';

/** How long a connection accepted just before the listener closed gets to send its request. */
const FRESH_CONNECTION_GRACE_MS = 250;

export interface GatewayOptions {
  /**
   * A config that passed the loader (config/load.ts: loadConfigFile, loadConfig, or parseConfig
   * when it names no files): nothing built from it checks it again.
   */
  config: Config;
  logger?: Logger;
  /** Cluster state to use instead of the one the config describes (tests, benchmarks). */
  state?: ClusterState;
  /** Serve without authentication (anonymous caller); loopback only. */
  insecureNoAuth?: boolean;
  /**
   * Every lifetime and interval reads this clock (tests move it): sessions, sign-in handoffs,
   * WebSocket liveness, caches, outlier ejection, retry budgets, the watch restart backoff and the
   * shutdown delay and timeout. IO deadlines (connect, response headers, idle) run on real timers.
   */
  clock?: Clock;
}

export interface Gateway {
  readonly server: http.Server;
  readonly admin: http.Server;
  readonly metrics: Metrics;
  /** What the gateway is built of (assemble.ts). */
  readonly assembly: Assembly;
  /** Starts the caches and both listeners; resolves with their URLs. */
  listen(): Promise<{ url: string; adminURL: string }>;
  /** Readiness as /readyz reports it. */
  isReady(): boolean;
  /** SIGTERM behaviour: unready at once, keep serving for the delay, then drain and close. */
  shutdown(): Promise<void>;
  /** Stops everything now (tests). */
  close(): Promise<void>;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logging);
  const clock = options.clock ?? systemClock;
  const metrics = createMetrics();
  const assembly = await assembleGateway(config, {
    logger,
    metrics,
    state: options.state,
    insecureNoAuth: options.insecureNoAuth,
    clock,
  });
  const { pipeline, state, authentication } = assembly;
  let draining = false;

  const serverOptions: http.ServerOptions = {
    // listen.maxHeaderBytes itself is enforced on the parsed head (header-limit.ts): Node's parser
    // reads heads up to what our own cookies can add past it, so that one over it is judged whole.
    maxHeaderSize: parserHeaderLimit(config.listen.maxHeaderBytes),
    requestTimeout: config.listen.requestTimeout,
    headersTimeout: config.listen.headersTimeout,
    keepAliveTimeout: config.listen.keepAliveTimeout,
    // Node enforces headersTimeout and requestTimeout only when it checks, every 30 s by
    // default: a slowloris client would outlive a short headersTimeout many times over.
    connectionsCheckingInterval: Math.max(
      100,
      Math.min(
        1000,
        ...[config.listen.headersTimeout, config.listen.requestTimeout]
          .filter((t) => t > 0)
          .map((t) => t / 2),
      ),
    ),
  };
  const server = config.listen.tls
    ? https.createServer({
        ...serverOptions,
        cert: readFileSync(config.listen.tls.certFile),
        key: readFileSync(config.listen.tls.keyFile),
      })
    : http.createServer(serverOptions);
  // Counted by header-limit.ts instead (MAX_HEADER_LINES): Node 24 would refuse past its count before the
  // target could be read, Node 20 would drop the lines past it unseen. Node's byte limit still bounds them.
  server.maxHeadersCount = 0;
  // A head over the limit may be a sign-in URL carrying what no page may read: never a page of ours then.
  const tooLarge = createHeaderLimit(config.listen.maxHeaderBytes, oversizedAnswerFor(config));
  const serve = (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean) => {
    if (tooLarge(req, req.socket)) return;
    if (draining) res.setHeader('connection', 'close');
    cutSlowResponseReader(res, config.listen.sendTimeout);
    void pipeline.handleRequest(req, res, expectsContinue);
  };
  server.on('request', (req, res) => serve(req, res, false));
  // With a listener, node no longer answers `Expect: 100-continue` at once: the pipeline does, once
  // the request is admitted (RFC 9110 §10.1.1 lets a server refuse before the body instead).
  server.on('checkContinue', (req, res) => serve(req, res, true));
  server.on('upgrade', (req, socket, head) => {
    if (!tooLarge(req, socket)) void pipeline.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) =>
    answerClientError(err, socket),
  );

  const readiness = [
    { name: 'cluster-state', ok: () => state.isSynced() },
    { name: 'authentication', ok: () => authentication.ready() },
    { name: 'not-draining', ok: () => !draining },
  ];
  const admin = createAdminServer(readiness, metrics.registry);
  const isReady = () => readiness.every((c) => c.ok());

  const listenOn = (srv: http.Server, port: number, address: string) =>
    new Promise<AddressInfo>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, address, () => resolve(srv.address() as AddressInfo));
    });
  const urlOf = (a: AddressInfo, scheme: string) =>
    `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;

  async function closeListeners(): Promise<void> {
    await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => admin.close(r))]);
  }

  return {
    server,
    admin,
    metrics,
    assembly,
    async listen() {
      // --insecure-no-auth serves whoever can connect: both listeners stay off the network
      // (the admin port's /metrics names namespaces, services and endpoints).
      const loopback = options.insecureNoAuth ? '127.0.0.1' : undefined;
      // The probes answer while the caches fill (/healthz 200, /readyz 503): a slow first LIST
      // is not mistaken for a dead process by a liveness probe.
      const adm = await listenOn(admin, config.admin.port, loopback ?? config.admin.address);
      await state.start();
      const pub = await listenOn(server, config.listen.port, loopback ?? config.listen.address);
      return { url: urlOf(pub, config.listen.tls ? 'https' : 'http'), adminURL: urlOf(adm, 'http') };
    },
    isReady,
    async shutdown() {
      draining = true;
      logger.info({ delayMs: config.listen.shutdown.delay }, 'shutting down: unready, still serving');
      await new Promise<void>((r) => clock.after(config.listen.shutdown.delay, r));
      // Stop accepting, but not http.Server#close(): it also drops "idle" connections at once, and
      // a connection accepted a moment ago whose request is not parsed yet counts as idle (the
      // client would see a reset). Give those a moment to become requests, then sweep: every
      // response while draining says Connection: close, and keep-alive connections whose last
      // request started before draining go idle later.
      const closed = new Promise((r) => net.Server.prototype.close.call(server, r));
      let sweep: NodeJS.Timeout | undefined;
      const firstSweep = setTimeout(() => {
        server.closeIdleConnections();
        sweep = setInterval(() => server.closeIdleConnections(), 100);
      }, FRESH_CONNECTION_GRACE_MS);
      for (const socket of assembly.upgrades) closeWebSocket(socket);
      assembly.tunnels.shutdown();
      let cancelDeadline = () => {};
      const deadline = new Promise<void>(
        (r) => (cancelDeadline = clock.after(config.listen.shutdown.timeout, r)),
      );
      await Promise.race([closed, deadline]);
      clearTimeout(firstSweep);
      clearInterval(sweep);
      cancelDeadline();
      server.closeAllConnections();
      await new Promise((r) => admin.close(r));
      await assembly.close();
      logger.info('shutdown complete');
    },
    async close() {
      draining = true;
      server.closeAllConnections();
      for (const socket of assembly.upgrades) socket.destroy();
      assembly.tunnels.close();
      await closeListeners();
      await assembly.close();
    },
  };
}

/** Tells a WebSocket client the server is going away (close code 1001), then closes. */
function closeWebSocket(
  socket: NodeJS.WritableStream & { destroy(): void; end(chunk?: Buffer): void },
): void {
  // An unmasked server-to-client close frame: FIN+opcode 8, length 2, code 1001.
  socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe9]));
  setTimeout(() => socket.destroy(), 1000).unref();
}
