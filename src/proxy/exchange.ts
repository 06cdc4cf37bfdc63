/**
 * One proxied request from its first attempt to its answer: the IO around the
 * attempt machine (attempt-machine.ts decides; this file picks endpoints,
 * starts and cancels attempts, relays, and reports to the balancer). The
 * result is what the request learned (endpoint, retries, bytes, outcome, the
 * error to answer): the caller records it. Every callback here runs inside a
 * node event: none may throw.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, internalError } from '../errors.js';
import type { Endpoint, Target } from '../request/target.js';
import {
  INITIAL,
  step,
  type AttemptEvent,
  type AttemptFailure,
  type MachineState,
  type Outcome,
  type RetryGate,
} from './attempt-machine.js';
import type { BodyCopy } from './body-copy.js';
import type { ForwarderOptions } from './forward.js';
import { relay, type RelayRequest, type RelaySink } from './relay.js';
import type { UpstreamResponse } from './upstream-message.js';
import type { UpstreamPools } from './upstream-pool.js';
import {
  startAttempt,
  type AttemptEvents,
  type AttemptProgress,
  type RunningAttempt,
} from './upstream-attempt.js';

export type ExchangeDeps = Pick<
  ForwarderOptions,
  'picker' | 'retry' | 'rewriter' | 'maxRequestBodyBytes' | 'metrics'
> & {
  pools: UpstreamPools;
};

/** What is sent, decided before the first attempt (forward.ts). */
export interface ExchangePlan {
  target: Target;
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  /** Flat header list, the framing header included. */
  headers: string[];
  body: IncomingMessage | undefined;
  /** The body's declared length (-1: chunked, counted as it streams). */
  bodyLength: number;
  /** A kept copy of a small idempotent body, for a retry after it went out. */
  copy: BodyCopy | undefined;
  /** The connection must carry nothing after this request (framing.ts). */
  closeAfter: boolean;
  /** Session-affinity key. */
  clientKey: string;
}

/** What one forwarded request learned: the caller records it (access log, audit, metrics). */
export interface Forwarded {
  /** The endpoint of the last attempt. */
  endpoint: Endpoint | undefined;
  /** Attempts after the first. */
  retries: number;
  /** Request body bytes read from the client. */
  bytesIn: number;
  /** Response body bytes relayed to the client. */
  bytesOut: number;
  /** What the balancer was told of the last attempt (undefined: no attempt was made). */
  outcome: Outcome | undefined;
  /** Nothing reached the client: the caller answers with this. */
  error?: GatewayError;
}

export function exchange(
  d: ExchangeDeps,
  plan: ExchangePlan,
  req: IncomingMessage,
  res: ServerResponse,
  view: RelayRequest,
): Promise<Forwarded> {
  return new Promise((resolve) => new Exchange(d, plan, req, res, view, resolve).start());
}

class Exchange implements RetryGate, RelaySink, AttemptEvents {
  /** The endpoint of the latest attempt, and the one the picker offered for the next. */
  private endpoint: Endpoint | undefined = undefined;
  private next: Endpoint | undefined = undefined;
  private bytesIn: number;
  bytesOut = 0;
  private outcome: Outcome | undefined = undefined;
  private state: MachineState = INITIAL;
  private running: RunningAttempt | undefined;
  /** Reports the current attempt's outcome to the balancer. */
  private report: ((outcome: Outcome) => void) | undefined;
  /** Endpoints tried (`ip:port`), made at the first failure: most requests never need it. */
  private tried: Set<string> | undefined;
  private sendBody: IncomingMessage | Buffer | undefined;
  private startedAt = 0;

  constructor(
    private readonly d: ExchangeDeps,
    private readonly plan: ExchangePlan,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly view: RelayRequest,
    private readonly resolve: (learned: Forwarded) => void,
  ) {
    this.sendBody = plan.body;
    this.bytesIn = Math.max(plan.bodyLength, 0);
  }

  start(): void {
    // The client went away before the response: cancel the upstream request.
    this.res.once('close', () => {
      if (!this.res.headersSent) this.on({ type: 'client-gone' });
    });
    if (this.plan.bodyLength < 0) this.countBody();
    this.pick();
  }

  private pick(): void {
    const next = this.d.picker.pick(this.plan.target, { key: this.plan.clientKey }, this.tried);
    this.next = next;
    this.on({ type: 'picked', found: next !== undefined });
  }

  /** Feeds an event to the machine and carries out what it decides. */
  private on(e: AttemptEvent): void {
    const t = step(this.state, e, this, this.plan.target.segment);
    this.state = t.state;
    if (t.connectError) this.d.metrics?.upstreamConnectErrors.inc();
    if (t.report) {
      this.outcome = t.report;
      this.report?.(t.report);
      this.report = undefined;
    }
    if (t.cancel) this.running?.cancel();
    const decision = t.decision;
    switch (decision.do) {
      case 'pick':
        return this.pick();
      case 'attempt':
        if (decision.replay) this.sendBody = this.plan.copy?.whole();
        return this.attempt(this.next!);
      case 'relay':
        return;
      case 'answer':
        return this.finish(decision.error);
      case 'cut':
        this.res.destroy();
        return this.finish();
      case 'finish':
        return this.finish();
      case 'ignore':
        return;
    }
  }

  private finish(error?: GatewayError): void {
    const { endpoint, bytesIn, bytesOut, outcome } = this;
    this.resolve({ endpoint, retries: this.state.retries, bytesIn, bytesOut, outcome, error });
  }

  /** The retry policy, for the machine: only after a failure, with another endpoint at hand. */
  mayRetry(failure: AttemptFailure, attempt: number): boolean {
    return this.d.retry.mayRetry(
      this.plan.target,
      this.req,
      {
        errorCode: failure.code,
        requestWritten: failure.requestWritten,
        bodyStarted: failure.bodyStarted,
        bodyReplayable: failure.bodyReplayable,
      },
      attempt,
    );
  }

  private attempt(endpoint: Endpoint): void {
    const { target } = this.plan;
    this.endpoint = endpoint;
    this.report = this.d.picker.start(target, endpoint);
    this.startedAt = performance.now();
    try {
      this.running = startAttempt(
        {
          pool: this.d.pools.forEndpoint(target.scheme, endpoint),
          method: this.plan.method,
          path: this.plan.path,
          headers: this.plan.headers,
          closeAfter: this.plan.closeAfter,
          body: this.sendBody,
        },
        this,
      );
    } catch {
      // undici refused the request as built (it checks every header): nothing went out.
      this.on({
        type: 'refused',
        error: internalError('the request could not be sent upstream'),
        headersSent: false,
      });
    }
  }

  /** The attempt's response head arrived. */
  response(upstream: UpstreamResponse): void {
    // Read now, counted once the response is on its way: the client waits for the relay, not the histogram.
    const tookMs = performance.now() - this.startedAt;
    let refused: GatewayError | undefined;
    this.view.endpoint = this.endpoint;
    this.on({ type: 'response' });
    try {
      refused = relay(upstream, this.res, this.view, this.d.rewriter, this);
    } catch {
      refused = internalError('the response could not be relayed');
    }
    if (refused) this.on({ type: 'refused', error: refused, headersSent: this.res.headersSent });
    this.d.metrics?.upstreamDuration.observe(tookMs / 1000);
  }

  /** The attempt failed before a response head. */
  failed(err: NodeJS.ErrnoException, progress: AttemptProgress): void {
    const ep = this.endpoint!;
    (this.tried ??= new Set()).add(`${ep.ip}:${ep.port}`);
    const failure: AttemptFailure = {
      code: err.code,
      message: err.message,
      requestWritten: progress.requestWritten,
      bodyStarted: progress.bodyStarted,
      bodyReplayable: progress.bodyStarted && this.plan.copy?.whole() !== undefined,
    };
    this.on({ type: 'failed', failure, clientGone: this.res.destroyed });
  }

  /** The relay ended: the client response closed. */
  relayed(outcome: Outcome): void {
    this.on({ type: 'relayed', outcome });
  }

  /** A chunked body has no declared length: count it as it streams, and cut it at the limit. */
  private countBody(): void {
    const body = this.plan.body;
    if (!body) return;
    const limit = this.d.maxRequestBodyBytes ?? 0;
    body.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      if (limit <= 0 || this.bytesIn <= limit || this.state.phase === 'done') return;
      const headersSent = this.res.headersSent;
      if (!headersSent) this.res.setHeader('connection', 'close'); // do not read the rest of the body
      this.on({ type: 'body-over-limit', headersSent });
    });
  }
}
