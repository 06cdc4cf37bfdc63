/**
 * The audit trail: one structured event per authorization decision, on its
 * own stream (a file, or stdout marked `"audit":true`), independent of the
 * log level. Events are built field by field from what the pipeline decided,
 * never from headers, so no token or cookie value can reach them.
 */
import { pino, type Logger } from 'pino';
import type { AuthMethod } from '../request/identity.js';
import type { Config } from '../config/schema.js';
import type { RequestContext } from '../request/context.js';
import type { TunnelAudit } from '../request/tunnel.js';

export interface AuditEvent {
  requestId: string;
  user: string;
  groups: string[];
  authMethod: AuthMethod;
  /** HTTP method as received; `verb` is what was authorized. */
  method: string;
  verb: string;
  namespace: string;
  kind: string;
  /** The raw name segment (`web:http`); for a tunnel the object's name. */
  name: string;
  /** `proxy`, or `portforward` for a TCP tunnel. */
  subresource?: string | undefined;
  /** `deny` too when the request was refused after an allowing decision, or authorization was unavailable. */
  decision: 'allow' | 'deny';
  /**
   * What answered: `rule[2]`, `kubernetes-rbac`, `namespace-fence`, …; for a refusal after the
   * decision `csrf`, `method-not-allowed`, `dry-run` or `request-too-large`; for a
   * SubjectAccessReview that failed closed (503) `kubernetes-rbac-unavailable`.
   */
  by: string;
  reason?: string | undefined;
  /** Status sent to the client. */
  status: number;
  /** `ip:port` of the endpoint that answered, when one did. */
  upstream?: string | undefined;
  /** Upstream path without the query (queries may carry secrets). */
  path?: string | undefined;
  via: 'path' | 'host';
  upgrade: boolean;
  bytes: number;
  durationMs: number;
  /**
   * TCP tunnels have two events with the same requestId: `{ event: 'open' }` once the backend
   * connection is up (`upstream` names it), and at the end `{ event: 'close', endedBy, closeCode,
   * detail, bytesToBackend, bytesToClient, durationMs }`.
   */
  tunnel?: TunnelAudit | undefined;
}

export interface AuditLog {
  /** Records the request's decision; requests that never reached one are not audit events. */
  record(ctx: RequestContext, status: number, bytes: number, durationMs: number): void;
  write(event: AuditEvent): void;
  close(): Promise<void>;
}

/**
 * The audit event for a finished request, or undefined when no decision was made. One shape for every
 * event: a field that does not apply is undefined, and absent from the line (JSON.stringify).
 */
export function auditEvent(
  ctx: RequestContext,
  status: number,
  bytes: number,
  durationMs: number,
): AuditEvent | undefined {
  const { attributes: a, decision: d, identity } = ctx;
  if (!a || !d || !identity) return undefined;
  return {
    requestId: ctx.id,
    user: identity.username,
    groups: identity.groups,
    authMethod: identity.method,
    method: ctx.method,
    verb: a.verb,
    namespace: a.namespace,
    kind: a.resource,
    name: a.name,
    subresource: a.subresource !== 'proxy' ? a.subresource : undefined,
    decision: d.allowed ? 'allow' : 'deny',
    by: d.by,
    reason: d.reason || undefined,
    status,
    upstream: ctx.endpoint ? `${ctx.endpoint.ip}:${ctx.endpoint.port}` : undefined,
    path: ctx.target && a.subresource === 'proxy' ? ctx.target.path || '/' : undefined,
    via: ctx.via,
    upgrade: ctx.upgrade,
    bytes,
    durationMs: Math.round(durationMs * 1000) / 1000,
    tunnel: ctx.tunnel,
  };
}

/**
 * The audit line, exactly as pino writes `logger.info(event, 'audit')` with the settings the audit log
 * had (level label, ISO time, base `service` and `audit`): the event is a flat record of known fields,
 * so one JSON.stringify serialises it, where pino's generic writer walks and serialises each field
 * (docs/performance.md, "The audit line"; test/observability/audit.test.ts holds the two to the byte).
 * One difference, on purpose: an unpaired surrogate (a claim may carry one) is escaped, where pino
 * wrote it raw and the file got U+FFFD, so two such names read as one.
 */
function auditLine(event: AuditEvent, isoTime: string): string {
  const fields = JSON.stringify(event);
  const rest = fields.length > 2 ? `,${fields.slice(1, -1)}` : '';
  return `{"level":"info","time":"${isoTime}","service":"kube-bastion","audit":true${rest},"msg":"audit"}\n`;
}

/** `new Date(now()).toISOString()`, made once per millisecond: under load many lines share one. */
function isoClock(now: () => number): () => string {
  let ms = Number.NaN;
  let iso = '';
  return () => {
    const t = now();
    if (t !== ms) {
      ms = t;
      iso = new Date(t).toISOString();
    }
    return iso;
  };
}

const NOOP: AuditLog = { record() {}, write() {}, close: () => Promise.resolve() };

/**
 * Lines of one event-loop turn written together: under load a turn finishes
 * several requests, and one write for them all costs one syscall instead of
 * one per line. A line waits at most until the turn ends; close() writes what
 * is left, and so does the process's exit.
 */
function perTurn(destination: { write(data: string): boolean }) {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const lines = pending;
    pending = '';
    destination.write(lines);
  };
  return {
    write(line: string): boolean {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return true;
    },
    flush,
  };
}

/** The open audit logs' exit flushes, run by one 'exit' listener however many logs a process opens. */
const flushedOnExit = new Set<() => void>();
let exitHooked = false;
function flushOnExitToo(flush: () => void): void {
  flushedOnExit.add(flush);
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const f of flushedOnExit) f();
  });
}

/**
 * `base` only receives the audit stream's own failures (a full disk); audit
 * events never go through it, so `logging.level: warn` cannot silence them.
 */
export function createAuditLog(
  config: Config['logging']['audit'],
  base?: Logger,
  now: () => number = Date.now,
): AuditLog {
  if (!config.enabled) return NOOP;
  // Written synchronously, pino's default: the turn's lines are in the file (the kernel's page cache) when the
  // turn ends, whatever the thread pool is doing, and a write costs one syscall on the event loop instead of a
  // hand-off to the pool and back (docs/performance.md, "Audit lines written synchronously").
  const destination = pino.destination({
    dest: config.file ?? 1,
    sync: true,
    ...(config.file ? { append: true, mkdir: true } : {}),
  });
  destination.on('error', (err: Error) => base?.error({ err }, 'audit log write failed'));
  const batch = perTurn(destination);
  // An exit in the middle of a turn (process.exit, a fatal error) still writes that turn's lines: to the
  // batch's destination, and from the file destination's buffer to the file, synchronously.
  const flushOnExit = () => {
    batch.flush();
    try {
      if (config.file) destination.flushSync();
    } catch {
      // not open yet, or already closed: nothing of ours is waiting in it
    }
  };
  flushOnExitToo(flushOnExit);
  const time = isoClock(now);
  let closed = false;
  // A long-lived stream (a WebSocket) may finish after shutdown closed the file: drop its event, don't throw.
  const write = (event: AuditEvent) => {
    if (!closed) batch.write(auditLine(event, time()));
  };
  return {
    record(ctx, status, bytes, durationMs) {
      const event = auditEvent(ctx, status, bytes, durationMs);
      if (event) write(event);
    },
    write,
    close: () =>
      new Promise<void>((resolve) => {
        batch.flush();
        flushedOnExit.delete(flushOnExit);
        if (closed || !config.file) return resolve();
        closed = true;
        destination.once('close', () => resolve());
        destination.end();
      }),
  };
}
