/**
 * One proxied request from its first attempt to its answer: an endpoint per
 * attempt, a retry on another endpoint after a connection failure when the
 * retry policy allows it, the response relayed (or refused, relay.ts), the
 * request body cut at its limit, and the upstream request cancelled when the
 * client leaves. Every callback here runs inside a node event: none may throw.
 */
import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, internalError, serviceUnavailable } from '../errors.js';
import type { RequestContext } from '../request/context.js';
import { isConnectError } from './balancer/retry.js';
import type { BodyCopy } from './body-copy.js';
import type { ForwarderOptions, Outcome } from './forward.js';
import { relay } from './relay.js';
import type { Endpoint, Target } from '../request/target.js';
import { startAttempt, type AttemptProgress, type RunningAttempt } from './upstream-attempt.js';
import { upstreamError } from './upstream-error.js';

export type ExchangeDeps = Pick<
  ForwarderOptions,
  | 'picker'
  | 'retry'
  | 'rewriter'
  | 'connectTimeoutMs'
  | 'responseHeaderTimeoutMs'
  | 'maxRequestBodyBytes'
  | 'metrics'
>;

/** What is sent, decided before the first attempt (forward.ts). */
export interface ExchangePlan {
  target: Target;
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  /** Flat header list, the framing header included. */
  headers: string[];
  body: IncomingMessage | undefined;
  /** A kept copy of a small idempotent body, for a retry after it went out. */
  copy: BodyCopy | undefined;
  /** Pooled, or one-shot when the connection must carry nothing after this request. */
  agents: { http: Agent; https: Agent };
  /** Session-affinity key. */
  clientKey: string;
}

export function exchange(
  d: ExchangeDeps,
  plan: ExchangePlan,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
): Promise<void> {
  return new Promise((resolve, reject) => new Exchange(d, plan, req, res, ctx, resolve, reject).start());
}

class Exchange {
  private running: RunningAttempt | undefined;
  /** Reports the current attempt's outcome to the balancer. */
  private done: (outcome: Outcome) => void = () => {};
  private finished = false;
  private readonly tried = new Set<string>();
  private sendBody: IncomingMessage | Buffer | undefined;

  constructor(
    private readonly d: ExchangeDeps,
    private readonly plan: ExchangePlan,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly ctx: RequestContext,
    private readonly resolve: () => void,
    private readonly reject: (err: GatewayError) => void,
  ) {
    this.sendBody = plan.body;
  }

  start(): void {
    // The client went away before the response: cancel the upstream request.
    this.res.once('close', () => {
      if (this.res.headersSent || this.finished) return;
      this.running?.cancel();
      this.done('cancelled');
      this.settle();
    });
    this.limitBody();
    const first = this.d.picker.pick(this.plan.target, { key: this.plan.clientKey }, this.tried);
    if (first) this.attempt(first);
    else this.settle(serviceUnavailable(`no endpoints available for service "${this.plan.target.segment}"`));
  }

  private settle(err?: GatewayError): void {
    if (this.finished) return;
    this.finished = true;
    if (err) this.reject(err);
    else this.resolve();
  }

  private attempt(endpoint: Endpoint): void {
    const { target } = this.plan;
    this.ctx.endpoint = endpoint;
    this.tried.add(`${endpoint.ip}:${endpoint.port}`);
    this.done = this.d.picker.start(target, endpoint);
    const startedAt = performance.now();
    const request = {
      scheme: target.scheme,
      ip: endpoint.ip,
      port: endpoint.port,
      method: this.plan.method,
      path: this.plan.path,
      headers: this.plan.headers,
      agent: this.plan.agents[target.scheme],
      body: this.sendBody,
      connectTimeoutMs: this.d.connectTimeoutMs,
      responseHeaderTimeoutMs: this.d.responseHeaderTimeoutMs,
    };
    try {
      this.running = startAttempt(request, {
        response: (upstream) => {
          this.d.metrics?.upstreamDuration.observe((performance.now() - startedAt) / 1000);
          this.onResponse(upstream);
        },
        error: (err, progress) => this.onError(err, progress),
      });
    } catch {
      // node refused the request as built (it checks every header): nothing went out.
      this.done('server-error');
      this.settle(internalError('the request could not be sent upstream'));
    }
  }

  private onResponse(upstream: IncomingMessage): void {
    const finish = this.done;
    let refused: GatewayError | undefined;
    try {
      refused = relay(upstream, this.res, this.ctx, this.d.rewriter, (outcome) => {
        finish(outcome);
        this.settle();
      });
    } catch {
      refused = internalError('the response could not be relayed');
    }
    if (!refused) return;
    // Nothing reached the client; the connection is closed, never reused after such an answer.
    this.running?.cancel();
    this.plan.body?.unpipe();
    finish('server-error');
    if (this.res.headersSent) this.res.destroy();
    this.settle(refused);
  }

  private onError(err: NodeJS.ErrnoException, progress: AttemptProgress): void {
    if (this.finished) return;
    if (this.res.destroyed) {
      this.done('cancelled');
      return this.settle();
    }
    const { target } = this.plan;
    const connectFailed = isConnectError(err.code);
    if (connectFailed) this.d.metrics?.upstreamConnectErrors.inc();
    this.done(connectFailed ? 'connect-error' : 'server-error');
    this.plan.body?.unpipe();
    // Pick first: a retry is only counted (and taken from the budget) when there is somewhere to go.
    const next = this.d.picker.pick(target, { key: this.plan.clientKey }, this.tried);
    const replay = progress.bodyStarted ? this.plan.copy?.whole() : undefined;
    const failure = { ...progress, errorCode: err.code, bodyReplayable: replay !== undefined };
    if (next && this.d.retry.mayRetry(target, this.req, failure, this.ctx.retries + 1)) {
      this.ctx.retries += 1;
      if (replay) this.sendBody = replay;
      return this.attempt(next);
    }
    this.settle(upstreamError(err));
  }

  /** A chunked body has no declared length: count it as it streams, and cut it at the limit. */
  private limitBody(): void {
    const body = this.plan.body;
    const limit = this.d.maxRequestBodyBytes ?? 0;
    if (!body || limit <= 0) return;
    let received = 0;
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit || this.finished) return;
      body.unpipe();
      this.running?.cancel();
      this.done('cancelled');
      if (this.res.headersSent) return void this.res.destroy();
      this.res.setHeader('connection', 'close'); // do not read the rest of the body
      this.settle(new GatewayError(413, 'RequestEntityTooLarge', 'request body too large'));
    });
  }
}
