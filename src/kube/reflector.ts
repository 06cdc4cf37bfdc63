/**
 * Keeps a local copy of one resource in step with the API server: list, then
 * watch from the list's resourceVersion, resume from the last seen version
 * when a watch ends, relist on 410 Gone, and restart with backoff after ANY
 * error. The client's own informer (1.4.0) stops for good on errors other
 * than a clean close, so the loop lives here; `watch.ts` reads the stream.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { WatchStream } from './watch.js';

/** Where a reflector writes what it learns. */
export interface ReflectorSink<T> {
  /** The full state after a (re)list: drop what is missing, add or update the rest. */
  replace(items: readonly T[]): void;
  upsert(obj: T): void;
  remove(obj: T): void;
}

export interface ListPage<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export interface ReflectorOptions<T> {
  /** For logs and metrics: `services`, `endpointslices`. */
  resource: string;
  /** Collection path watched, e.g. `/api/v1/services`. */
  path: string;
  /** Only objects with these labels (a label selector), in the watch as in `list`. */
  labelSelector?: string;
  list(page: { limit?: number; continue?: string }): Promise<ListPage<T>>;
  /** Watch events carry raw JSON; this turns one into the list's typed object. */
  deserialize(raw: unknown): T;
  watch: WatchStream;
  sink: ReflectorSink<T>;
  logger: Logger;
  backoff: BackoffOptions;
  /** Objects per LIST page (0: one response). */
  pageSize: number;
  /** Asked of the server; it ends the watch cleanly after this long and we resume. */
  watchTimeoutSeconds: number;
  /** A watch that delivers nothing (not even a BOOKMARK) this long is presumed dead and restarted. */
  idleTimeoutMs: number;
  /** A LIST page, or the response headers of a watch, taking longer than this is an error. */
  requestTimeoutMs: number;
  onRestart?(err: unknown): void;
  now?: () => number;
  /** Runs the restart backoff (tests advance it); real timers by default. IO deadlines stay real. */
  clock?: Clock;
}

/** An ERROR event whose Status is not 410. */
export class WatchStatusError extends Error {
  override name = 'WatchStatusError';
  constructor(readonly status: { code?: number; message?: string; reason?: string }) {
    super(`watch error ${status.code ?? ''} ${status.reason ?? ''}: ${status.message ?? ''}`);
  }
}

export class KubeRequestTimeoutError extends Error {
  override name = 'KubeRequestTimeoutError';
}

const isGone = (err: unknown): boolean => {
  const e = err as { status?: number; statusCode?: number; code?: number } | null;
  return e?.status === 410 || e?.statusCode === 410 || e?.code === 410;
};

/** Rejects with KubeRequestTimeoutError after `ms`: a bound on the whole call, not only on a silent socket. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeRequestTimeoutError(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface WatchEventObject {
  metadata?: { resourceVersion?: string };
  code?: number;
  message?: string;
  reason?: string;
}

export class Reflector<T> {
  /** True once a LIST has completed (it stays true: the cache keeps serving). */
  synced = false;
  restarts = 0;
  relists = 0;
  /** When the current run of failures began; undefined while healthy. */
  unhealthySince: number | undefined;
  private resourceVersion = '';
  private stopped = true;
  /** Settles when stop() is called, so a hung LIST does not hold shutdown up. */
  private stopping: Promise<void> = new Promise(() => undefined);
  private signalStop: () => void = () => undefined;
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private wake: (() => void) | undefined;
  private abortWatch: (() => void) | undefined;
  private readonly syncWaiters: Array<() => void> = [];
  private readonly now: () => number;
  private readonly after: Clock['after'];

  constructor(private readonly opts: ReflectorOptions<T>) {
    this.backoff = new Backoff(opts.backoff);
    const clock = opts.clock;
    this.now = opts.now ?? (clock ? () => clock.now() : Date.now);
    this.after = clock ? (ms, fn) => clock.after(ms, fn) : refTimer;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = new Promise((resolve) => (this.signalStop = resolve));
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    this.wake?.();
    this.abortWatch?.();
    await this.loop;
  }

  /** Resolves once the first LIST has completed. */
  whenSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        // stop() may have come while listing, before there was a watch to abort.
        if (this.stopped) break;
        const outcome = await this.watchOnce();
        if (outcome === 'gone') {
          this.opts.logger.info(
            { resource: this.opts.resource },
            'watch resourceVersion expired (410 Gone); relisting',
          );
          this.resourceVersion = '';
        }
      } catch (err) {
        if (this.stopped) break;
        this.restarts++;
        this.unhealthySince ??= this.now();
        if (isGone(err)) this.resourceVersion = '';
        const delay = this.backoff.next();
        this.opts.logger.warn(
          { resource: this.opts.resource, err: (err as Error).message, retryInMs: delay },
          'list/watch failed; restarting',
        );
        this.opts.onRestart?.(err);
        await this.sleep(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await Promise.race([
        withTimeout(
          this.opts.list({ limit: this.opts.pageSize || undefined, continue: cont }),
          this.opts.requestTimeoutMs,
          `LIST ${this.opts.path}`,
        ),
        this.stopping.then(() => undefined),
      ]);
      if (!page) return;
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont && !this.stopped);
    if (this.stopped) return;
    this.opts.sink.replace(items);
    this.resourceVersion = rv;
    this.relists++;
    this.healthy();
    if (!this.synced) {
      this.synced = true;
      this.opts.logger.info({ resource: this.opts.resource, count: items.length }, 'cache synced');
      this.syncWaiters.splice(0).forEach((resolve) => resolve());
    }
  }

  private healthy(): void {
    this.unhealthySince = undefined;
    this.backoff.reset();
  }

  /** One watch connection. Resolves 'closed' on a clean end, 'gone' on 410; rejects on errors. */
  private watchOnce(): Promise<'closed' | 'gone'> {
    const { opts } = this;
    return new Promise((resolve, reject) => {
      let settled = false;
      let gone = false;
      let failure: Error | undefined;
      let controller: { abort(): void } | undefined;
      let idle: NodeJS.Timeout | undefined;
      const finish = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        clearTimeout(connect);
        this.abortWatch = undefined;
        controller?.abort();
        if (this.stopped) resolve('closed');
        else if (err && isGone(err)) resolve('gone');
        else if (err || failure) reject(err instanceof Error ? err : (failure ?? new Error(String(err))));
        else resolve(gone ? 'gone' : 'closed');
      };
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(
          () => finish(new KubeRequestTimeoutError(`watch idle for ${opts.idleTimeoutMs} ms`)),
          opts.idleTimeoutMs,
        );
      };
      const connect = setTimeout(
        () =>
          finish(
            new KubeRequestTimeoutError(
              `WATCH ${opts.path} did not answer within ${opts.requestTimeoutMs} ms`,
            ),
          ),
        opts.requestTimeoutMs,
      );
      this.abortWatch = () => finish(null);
      const onEvent = (type: string, raw: unknown) => {
        if (settled) return;
        const obj = (raw ?? {}) as WatchEventObject;
        armIdle();
        if (type === 'ERROR') {
          if (obj.code === 410) gone = true;
          else failure = new WatchStatusError(obj);
          return;
        }
        if (type === 'ADDED' || type === 'MODIFIED') opts.sink.upsert(opts.deserialize(obj));
        else if (type === 'DELETED') opts.sink.remove(opts.deserialize(obj));
        else if (type !== 'BOOKMARK') return;
        this.resourceVersion = obj.metadata?.resourceVersion || this.resourceVersion;
      };
      const query = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: opts.watchTimeoutSeconds,
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
      };
      opts.watch
        .watch(opts.path, query, onEvent, finish)
        .then((c) => {
          controller = c;
          if (settled) return c.abort();
          clearTimeout(connect);
          this.healthy();
          armIdle();
        })
        .catch(finish);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.after(ms, done);
      function done() {
        cancel();
        resolve();
      }
      this.wake = done;
    });
  }
}

/** A plain timer that keeps the process alive while a reflector waits to retry. */
function refTimer(ms: number, fn: () => void): () => void {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
}
