/**
 * The order of the request path, in one place:
 *
 *   route → authenticate → authorize → resolve → (balance +) forward
 *
 * Each stage is a function passed in; this file knows their order and how a
 * failure in any of them becomes a response, nothing about how they work.
 * Requests that are not proxy requests go to the gateway's own pages.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Identity } from '../request/identity.js';
import type { Decision, RequestAttributes } from '../request/attributes.js';
import { GatewayError } from '../errors.js';
import type { ClientAddress } from '../request/forwarded-for.js';
import type { ProxyPath } from '../request/proxy-path.js';
import type { Target } from '../request/target.js';
import { asGatewayError, sendError, sendUpgradeError } from '../web/error-response.js';
import { endAfterBug } from './last-resort.js';
import { CLIENT_CLOSED_REQUEST, newRequestContext, type RequestContext } from '../request/context.js';

export interface Stages {
  /** Proxy URL or host route → ProxyPath; undefined for the gateway's own pages. Throws 400/404. */
  route(req: IncomingMessage, ctx: RequestContext): ProxyPath | undefined;
  /**
   * Throws 401 for missing or invalid credentials; `res` (absent for upgrades) carries refreshed session cookies.
   * The stages below may answer at once (no promise) when they can: the pipeline awaits only promises.
   */
  authenticate(req: IncomingMessage, ctx: RequestContext, res?: ServerResponse): Identity | Promise<Identity>;
  /** The attributes to authorize (verb from the method, upgrade as create, …). */
  attributes(req: IncomingMessage, path: ProxyPath, identity: Identity, upgrade: boolean): RequestAttributes;
  authorize(attrs: RequestAttributes, req: IncomingMessage): Decision | Promise<Decision>;
  /** Checks that only apply once the caller may proceed (405, dryRun, CSRF). Throws. */
  admit(req: IncomingMessage, ctx: RequestContext): void;
  resolve(path: ProxyPath, ctx: RequestContext): Target | Promise<Target>;
  forward(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void>;
  /** Resolves, once the connection is over, with what the client got: 101, or the backend's refusal. */
  forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: RequestContext): Promise<number>;
}

export interface PipelineHooks {
  /** The gateway's own pages (express). */
  pages(req: IncomingMessage, res: ServerResponse): void;
  /** Turns a denial into the error the client sees. */
  denied(attrs: RequestAttributes, decision: Decision): GatewayError;
  /** Called once per request when it is over (access log, audit, metrics); upgrades report 101 or the refusal. */
  finished(ctx: RequestContext, status: number, bytes: number, error?: GatewayError): void;
  /** Where browsers are sent to sign in, when browser sign-in is configured. */
  loginPath?: string;
  /** Where a browser on a routed host is sent to sign in, when that differs (the handoff starts on the host). */
  hostLoginPath?: string;
  /** The gateway's base URL: error pages served on a routed host link back to it. */
  publicURL?: string;
  /** The client's address and the X-Forwarded-For to send (listen.trustedProxies); the peer's when absent. */
  clientAddress?(req: IncomingMessage): ClientAddress;
  /** An exception no stage turned into an answer (a bug): log it. The request ends; the process does not. */
  unexpected?(err: unknown): void;
  /** An allowed upgrade, just before it is forwarded: watches its credential (server/liveness/). */
  upgrading?(req: IncomingMessage, socket: Duplex, ctx: RequestContext): void;
}

/**
 * The audit `by` for a refusal that comes after an allowing decision (Stages.admit):
 * the request was not allowed through, so it must not be audited as "allow".
 */
const ADMISSION_REFUSED_BY: Record<number, string> = {
  400: 'dry-run',
  403: 'csrf',
  405: 'method-not-allowed',
  413: 'request-too-large',
};

/** What the audit records when authorization could not be asked (the SubjectAccessReview failed closed). */
const AUTHORIZATION_UNAVAILABLE_BY = 'kubernetes-rbac-unavailable';

/**
 * A stage's answer that comes later; awaiting one already there would cost a turn. Any thenable
 * counts, not only native promises: a thenable taken for an answer would be an identity or a
 * decision that is not one.
 */
const later = <T>(v: T | PromiseLike<T>): v is PromiseLike<T> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';

/** Runs the stages that decide whether and where a request goes; shared by HTTP and upgrades. */
async function admitAndResolve(
  stages: Stages,
  hooks: PipelineHooks,
  req: IncomingMessage,
  ctx: RequestContext,
  res?: ServerResponse,
): Promise<void> {
  const path = ctx.proxyPath!;
  const who = stages.authenticate(req, ctx, res);
  ctx.identity = later(who) ? await who : who;
  ctx.throwIfCancelled();
  ctx.attributes = stages.attributes(req, path, ctx.identity, ctx.upgrade);
  const decision = decide(stages, req, ctx);
  ctx.decision = later(decision) ? await decision : decision;
  ctx.throwIfCancelled();
  if (!ctx.decision.allowed) throw hooks.denied(ctx.attributes, ctx.decision);
  admit(stages, req, ctx);
  const target = stages.resolve(path, ctx);
  ctx.target = later(target) ? await target : target;
  ctx.throwIfCancelled();
}

/** An authorizer that cannot answer fails closed (503): a denial, and audited as one. */
function decide(stages: Stages, req: IncomingMessage, ctx: RequestContext): Decision | Promise<Decision> {
  try {
    const decision = stages.authorize(ctx.attributes!, req);
    return later(decision) ? decision.catch((err: unknown) => failClosed(ctx, err)) : decision;
  } catch (err) {
    return failClosed(ctx, err);
  }
}

function failClosed(ctx: RequestContext, err: unknown): never {
  const e = asGatewayError(err);
  ctx.decision = { allowed: false, by: AUTHORIZATION_UNAVAILABLE_BY, reason: e.message };
  throw e;
}

/** Refusals after an allowing decision (405, dryRun, CSRF, 413) replace it: they are denials too. */
function admit(stages: Stages, req: IncomingMessage, ctx: RequestContext): void {
  try {
    stages.admit(req, ctx);
  } catch (err) {
    const e = asGatewayError(err);
    ctx.decision = { allowed: false, by: ADMISSION_REFUSED_BY[e.status] ?? 'admission', reason: e.message };
    throw e;
  }
}

/** The status the client got; 499 when it left before any response header was sent. */
function statusSent(res: ServerResponse, ctx: RequestContext): number {
  return ctx.cancelled !== undefined && !res.headersSent ? CLIENT_CLOSED_REQUEST : res.statusCode;
}

export type Pipeline = ReturnType<typeof createPipeline>;

export function createPipeline(stages: Stages, hooks: PipelineHooks) {
  /** Proxied HTTP requests between routing and their end (upgrades not counted). */
  let inFlight = 0;

  /**
   * Every request, whatever happens in it. `expectsContinue`: the client sent `Expect: 100-continue`
   * and holds its body back; the 100 goes out only once the request is admitted (authenticated,
   * authorized, its target resolved), so a refused caller never gets to send a body.
   * An exception no stage expected ends this request (a 500, or the connection closed), never the
   * process: without the catch it would be an unhandled rejection.
   */
  function handleRequest(req: IncomingMessage, res: ServerResponse, expectsContinue = false): Promise<void> {
    return serveRequest(req, res, expectsContinue).catch((err: unknown) => {
      report(err);
      endAfterBug(res);
    });
  }

  const report = (err: unknown) => {
    try {
      hooks.unexpected?.(err);
    } catch {
      // Logging failed as well: there is nothing left to tell.
    }
  };

  async function serveRequest(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) {
    const ctx = newRequestContext(req, false, hooks.clientAddress?.(req));
    // Listen before the first await: the client may leave while authentication or authorization waits.
    res.once('close', () => {
      if (!res.writableFinished) ctx.cancel();
    });
    // A refusal before the 100: the client never sends its body, so the connection cannot carry on.
    let holdingBody = expectsContinue;
    const proceed = () => {
      if (holdingBody) res.writeContinue();
      holdingBody = false;
    };
    const refuse = (err: unknown) => {
      if (holdingBody && !res.headersSent) res.setHeader('connection', 'close');
      fail(req, res, ctx, asGatewayError(err));
    };
    let path: ProxyPath | undefined;
    try {
      path = stages.route(req, ctx);
    } catch (err) {
      return refuse(err);
    }
    if (!path) {
      // The gateway's own pages take small bodies of their own; nothing to hold back for.
      proceed();
      return servePage(req, res, ctx);
    }
    ctx.proxyPath = path;
    inFlight++;
    try {
      await admitAndResolve(stages, hooks, req, ctx, res);
      proceed();
      await stages.forward(req, res, ctx);
    } catch (err) {
      return refuse(err);
    } finally {
      inFlight--;
    }
    hooks.finished(ctx, statusSent(res, ctx), ctx.bytes);
  }

  /** The gateway's own pages (portal, sign-in, JWKS): logged like any request once answered. */
  function servePage(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    ctx.page = true;
    res.once('close', () =>
      hooks.finished(ctx, statusSent(res, ctx), Number(res.getHeader('content-length')) || 0),
    );
    hooks.pages(req, res);
  }

  function fail(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, err: GatewayError): void {
    if (ctx.cancelled !== undefined && !res.headersSent) return cancelled(ctx);
    const onHost = ctx.via === 'host' && err.status === 401 && hooks.hostLoginPath;
    sendError(req, res, err, {
      loginPath: onHost ? hooks.hostLoginPath : hooks.loginPath,
      publicURL: hooks.publicURL,
      username: ctx.identity?.username,
      requestId: ctx.id,
    });
    hooks.finished(ctx, err.status, 0, err);
  }

  /** A request its client gave up on: nothing more is sent; logged as 499. */
  function cancelled(ctx: RequestContext): void {
    hooks.finished(ctx, CLIENT_CLOSED_REQUEST, ctx.bytes, ctx.cancelled);
  }

  /** Every upgrade request; as for requests, an unexpected exception ends only this connection. */
  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    return serveUpgrade(req, socket, head).catch((err: unknown) => {
      report(err);
      socket.destroy();
    });
  }

  async function serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const ctx = newRequestContext(req, true, hooks.clientAddress?.(req));
    socket.on('error', () => socket.destroy());
    // As for requests. The upgrade socket is half-open capable: a client that leaves may only
    // end its side. Once upgraded, either event is the WebSocket's normal end.
    socket.once('end', () => ctx.cancel());
    socket.once('close', () => ctx.cancel());
    let status: number;
    try {
      const path = stages.route(req, ctx);
      if (!path) throw new GatewayError(404, 'NotFound', 'the server could not find the requested resource');
      ctx.proxyPath = path;
      await admitAndResolve(stages, hooks, req, ctx);
      hooks.upgrading?.(req, socket, ctx);
      status = await stages.forwardUpgrade(req, socket, head, ctx);
    } catch (err) {
      if (ctx.cancelled !== undefined) {
        socket.destroy(); // only half-closed by the client, it would stay open for ever
        return cancelled(ctx);
      }
      const e = asGatewayError(err);
      sendUpgradeError(socket, e);
      return hooks.finished(ctx, e.status, 0, e);
    }
    hooks.finished(ctx, status, ctx.bytes);
  }

  return { handleRequest, handleUpgrade, inFlight: () => inFlight };
}
