/**
 * One WATCH request: newline-delimited JSON events read straight off the
 * response (the same contract as client-node's `Watch.watch`, which the
 * reflector was written against). `done` is called once: null when the
 * server ends the stream, the error otherwise; aborting the returned
 * controller ends it without a call.
 */
import { ApiClient } from './api-client.js';

export type WatchEventHandler = (type: string, object: unknown) => void;

export interface WatchStream {
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: WatchEventHandler,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
}

export class JsonWatch implements WatchStream {
  constructor(private readonly client: ApiClient) {}

  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: WatchEventHandler,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      controller.abort();
      done(err);
    };
    const params = new URLSearchParams({ watch: 'true' });
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    try {
      const res = await this.client.stream(`${path}?${params.toString()}`, controller.signal);
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let start = 0;
        for (let nl = pending.indexOf('\n'); nl >= 0 && !finished; nl = pending.indexOf('\n', start)) {
          const line = pending.slice(start, nl);
          start = nl + 1;
          if (line.trim() === '') continue;
          let event: { type?: string; object?: unknown };
          try {
            event = JSON.parse(line) as typeof event;
          } catch {
            continue; // a line that is not JSON carries no event
          }
          try {
            onEvent(String(event.type), event.object);
          } catch (err) {
            // A handler that throws must not be lost in a 'data' callback: end the watch with it.
            finish(err);
          }
        }
        pending = pending.slice(start);
      });
      res.on('error', finish);
      res.on('end', () => finish(null));
      res.on('close', () => finish(null));
    } catch (err) {
      finish(err);
    }
    return controller;
  }
}
