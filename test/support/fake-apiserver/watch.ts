/**
 * One watch connection: JSON lines of ADDED/MODIFIED/DELETED/BOOKMARK/ERROR,
 * as kube-apiserver streams them. Resumes from a resourceVersion out of the
 * store's history; one that is too old gets 410 Gone.
 */
import type { ServerResponse } from 'node:http';
import type { ObjectMatcher } from './selectors.js';
import { statusBody } from './reviews.js';
import { RESOURCES, type KubeObject, type ObjectStore, type ResourceName, type StoreEvent } from './store.js';

export interface WatchRequest {
  resource: ResourceName;
  namespace: string | undefined;
  matches: ObjectMatcher;
  /** `resourceVersion` query parameter; unset or '0' starts with the current state. */
  resourceVersion: string | null;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutSeconds: number | undefined;
  /** How a too-old resourceVersion is reported. */
  goneAs: 'event' | 'status';
}

type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * What a watcher with a selector sees: an object that starts matching is
 * ADDED, one that stops matching is DELETED, as in the apiserver's watch cache.
 */
function visibleEvent(event: StoreEvent, req: WatchRequest): WatchType | undefined {
  if (event.resource !== req.resource) return undefined;
  const inScope = (o: KubeObject | undefined) =>
    o !== undefined &&
    (req.namespace === undefined || o.metadata?.namespace === req.namespace) &&
    req.matches(o);
  const now = inScope(event.object);
  if (event.type !== 'MODIFIED') return now ? event.type : undefined;
  const before = inScope(event.previous);
  if (now) return before ? 'MODIFIED' : 'ADDED';
  return before ? 'DELETED' : undefined;
}

/** Streams a watch until the client leaves, the timeout ends it, or `end` is called. Returns a closer. */
export function serveWatch(store: ObjectStore, req: WatchRequest, res: ServerResponse): () => void {
  const { kind, apiVersion } = RESOURCES[req.resource];
  const send = (type: string, object: unknown) => {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
  };

  let replay: StoreEvent[] | 'gone' = [];
  const fromNow = req.resourceVersion === null || req.resourceVersion === '' || req.resourceVersion === '0';
  if (!fromNow) replay = store.eventsSince(Number(req.resourceVersion));
  if (replay === 'gone') {
    const message = `too old resource version: ${req.resourceVersion} (${store.oldestResourceVersion})`;
    const status = statusBody(410, 'Expired', message);
    if (req.goneAs === 'status') {
      res
        .writeHead(410, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ...status, reason: 'Gone' }));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      send('ERROR', status);
      res.end();
    }
    return () => undefined;
  }

  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const forward = (event: StoreEvent) => {
    const type = visibleEvent(event, req);
    if (type) send(type, event.object);
  };
  if (fromNow) {
    for (const obj of store.list(req.resource, req.namespace)) if (req.matches(obj)) send('ADDED', obj);
  } else {
    replay.forEach(forward);
  }
  const unsubscribe = store.subscribe(forward);
  const bookmark = () =>
    send('BOOKMARK', { kind, apiVersion, metadata: { resourceVersion: String(store.rv) } });
  const bookmarkTimer = req.bookmarks ? setInterval(bookmark, req.bookmarkIntervalMs) : undefined;
  const cleanup = () => {
    unsubscribe();
    clearInterval(bookmarkTimer);
    clearTimeout(timeout);
  };
  const end = () => {
    cleanup();
    res.end();
  };
  const timeout = req.timeoutSeconds !== undefined ? setTimeout(end, req.timeoutSeconds * 1000) : undefined;
  res.on('close', cleanup);
  return end;
}
