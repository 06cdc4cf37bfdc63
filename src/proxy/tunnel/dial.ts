/**
 * The backend connection of a tunnel: an endpoint chosen by the same balancer
 * as HTTP, a TCP connect within `upstream.connectTimeout`, and on a refused or
 * timed-out connect another endpoint as the retry policy and budget allow
 * (nothing has been sent yet, so any tunnel may be retried).
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { RetryPolicy } from '../balancer/create.js';
import type { Outcome, Picker } from '../forward.js';
import type { Endpoint, Target } from '../../request/target.js';
import { connectDeadline } from '../upstream-attempt.js';

export interface DialDeps {
  picker: Picker;
  retry: RetryPolicy;
  connectTimeoutMs: number;
  /** Told of every failed connect (kube_bastion_upstream_connect_errors_total). */
  onConnectError?(): void;
}

export interface Dialled {
  socket: net.Socket;
  endpoint: Endpoint;
  /** Reports the tunnel's outcome to the balancer when it ends (it counts as outstanding until then). */
  done: (outcome: Outcome) => void;
  /** Endpoints tried before this one. */
  retries: number;
}

/** Why no endpoint could be reached; `endpoint` is the last one tried, if any. */
export class DialError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly endpoint?: Endpoint,
  ) {
    super(message);
    this.name = 'DialError';
  }
}

/** One connect to one endpoint; rejects with node's error (ECONNREFUSED, ECONNECTTIMEOUT, …). */
function connectOnce(endpoint: Endpoint, timeoutMs: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Half-open: the backend's FIN must not end our writing (the client may still be sending).
    const socket = net.connect({ host: endpoint.ip, port: endpoint.port, allowHalfOpen: true });
    const fail = (err: NodeJS.ErrnoException) => {
      stop();
      signal.removeEventListener('abort', abort);
      socket.destroy();
      reject(err);
    };
    const abort = () => fail(Object.assign(new Error('the client went away'), { code: 'ECANCELED' }));
    const stop = connectDeadline(socket, false, timeoutMs, {
      established() {
        signal.removeEventListener('abort', abort);
        socket.off('error', fail);
        resolve(socket);
      },
      expired: fail,
    });
    socket.once('error', fail);
    signal.addEventListener('abort', abort, { once: true });
  });
}

/** Connects to an endpoint of `target`, retrying on others after a failed connect. */
export async function dialTarget(
  target: Target,
  req: IncomingMessage,
  clientKey: string,
  deps: DialDeps,
  signal: AbortSignal,
): Promise<Dialled> {
  const tried = new Set<string>();
  deps.retry.recordRequest(target);
  let endpoint = deps.picker.pick(target, { key: clientKey }, tried);
  for (let retries = 0; ; retries++) {
    if (!endpoint) throw new DialError(`no endpoints available for "${target.segment}"`, undefined);
    tried.add(`${endpoint.ip}:${endpoint.port}`);
    const done = deps.picker.start(target, endpoint);
    try {
      const socket = await connectOnce(endpoint, deps.connectTimeoutMs, signal);
      return { socket, endpoint, done, retries };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ECANCELED') {
        done('cancelled');
        throw new DialError(err.message, err.code, endpoint);
      }
      deps.onConnectError?.();
      done('connect-error');
      const next = deps.picker.pick(target, { key: clientKey }, tried);
      const failure = { errorCode: err.code, requestWritten: false, bodyStarted: false };
      if (!next || !deps.retry.mayRetry(target, req, failure, retries + 1)) {
        throw new DialError(`cannot connect to the backend: ${err.message}`, err.code, endpoint);
      }
      endpoint = next;
    }
  }
}
