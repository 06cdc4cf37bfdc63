/**
 * One attempt to send a plain HTTP request to one endpoint, over that
 * endpoint's undici Pool (upstream-pool.ts): once a connection takes the
 * request the body streams up, the response streams back, and a client that
 * goes away cancels the upstream request (its connection is closed, never
 * reused). A failure reports how far the request got, so the forwarder knows
 * whether it can be sent again elsewhere.
 *
 * This is the hot path: one handler object per attempt, undici's own
 * (callback) handler interface, which it calls without wrapping, and the
 * headers handed over as the flat list they were built as.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher, Pool } from 'undici';
import { BodyFeed } from './body-feed.js';
import { BAD_RESPONSE } from './upstream-error.js';
import { headersFromRaw, UpstreamResponse, type UpstreamControl } from './upstream-message.js';
import { leavesConnectionInDoubt } from './upstream-response.js';

export interface AttemptRequest {
  /** The endpoint's pool. */
  pool: Pool;
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  /**
   * Flat [name, value, …] list, already sanitized, with the body's Content-Length when it has one
   * (a body without one is sent chunked).
   */
  headers: string[];
  /** The connection must carry nothing after this request (framing.ts): it is closed after the response. */
  closeAfter: boolean;
  /**
   * The client's body, streamed up once connected, or a kept copy of it for a retry (undefined: the
   * request has none).
   */
  body: IncomingMessage | Buffer | undefined;
}

export interface AttemptEvents {
  /** Response headers arrived; the caller relays the response. */
  response(upstream: UpstreamResponse): void;
  /** The attempt failed before a response (connect error, timeout, reset). Not called after response(). */
  failed(err: NodeJS.ErrnoException, progress: AttemptProgress): void;
}

export interface RunningAttempt {
  /**
   * Cancels the upstream request (the client went away, or its response cannot be relayed): the
   * connection is closed, never reused.
   */
  cancel(): void;
}

/** How far a failed attempt got: what decides whether it may be repeated on another endpoint. */
export interface AttemptProgress {
  /** Request bytes went out on an established connection: the upstream may have read (and acted on) them. */
  requestWritten: boolean;
  /** Part of the client's body was read and sent: the client stream cannot give it again. */
  bodyStarted: boolean;
}

export function codeError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * The connect deadline of a new connection: it runs until the TCP connect and, for TLS, until the
 * handshake is done. A backend that accepts the connection and never answers the ClientHello is as
 * unreachable as one that never accepts, and is retried elsewhere the same way (ECONNECTTIMEOUT).
 * Calls `established` once the connection is usable, `expired` when the deadline passes first.
 * Returns a function that stops the timer.
 */
export function connectDeadline(
  socket: Socket,
  tls: boolean,
  timeoutMs: number,
  on: { established(): void; expired(err: NodeJS.ErrnoException): void },
): () => void {
  let over = false;
  // Past the TCP connect, Go's wording (the apiserver passes it on). A busy loop runs a due timer
  // before it reads the sockets (libuv: timers, then poll): the verdict waits for that poll, so a
  // connect the kernel finished in time is not called a connect timeout, nor a handshake that
  // finished in time a timeout at all.
  const verdict = () => {
    if (over) return;
    over = true;
    on.expired(codeError('ECONNECTTIMEOUT', socket.connecting ? 'connect timeout' : 'TLS handshake timeout'));
  };
  let waiting: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => (waiting = setImmediate(verdict)), timeoutMs);
  const stop = () => {
    over = true;
    clearTimeout(timer);
    if (waiting) clearImmediate(waiting);
  };
  socket.once(tls ? 'secureConnect' : 'connect', () => {
    if (over) return;
    stop();
    on.established();
  });
  return stop;
}

/** undici's errors in the words the forwarder (and the apiserver) use: codes decide retries and statuses. */
export function attemptError(err: Error & { code?: string }): NodeJS.ErrnoException {
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return codeError('ERESPONSETIMEOUT', 'timeout awaiting response headers');
    case 'UND_ERR_SOCKET':
      // undici's words for an answer it refused: a 101 nobody asked for, an unsolicited 100 Continue.
      if (err.message === 'bad upgrade')
        return codeError(BAD_RESPONSE, '101 Switching Protocols to a request that did not ask to upgrade');
      if (err.message === 'bad response')
        return codeError(BAD_RESPONSE, 'an interim 100 Continue nobody asked for');
      // The connection closed before a response: node's words.
      return codeError('ECONNRESET', 'socket hang up');
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return codeError(BAD_RESPONSE, 'the body does not match its Content-Length');
    case 'ERR_ASSERTION':
      // undici's parser asserts on what it cannot follow: an upstream's answer, never ours to crash on.
      return codeError(BAD_RESPONSE, 'a response the client could not follow');
    default:
      if (err.name === 'HTTPParserError') return codeError(err.code ?? 'HPE_INVALID', err.message);
      return err;
  }
}

/**
 * undici decodes the reason phrase as UTF-8, node as latin1 (the octets as they came). Valid UTF-8
 * is turned back into its octets; octets that were not UTF-8 are lost in undici's decoding, and the
 * standard phrase stands in (clients ignore the phrase, RFC 9112 §4).
 */
function reasonPhrase(status: number, text: string): string {
  if (text.includes('\ufffd')) return STATUS_CODES[status] ?? '';
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** Interim (1xx) answers taken before the final one. */
const MAX_INTERIM_ANSWERS = 5;

const CANCELLED = () => codeError('ECANCELLED', 'the request was cancelled');

/** One attempt's undici handler: it follows the attempt from dispatch to the end of the response body. */
class Attempt implements Dispatcher.DispatchHandler, RunningAttempt, UpstreamControl {
  private abortRequest: ((err?: Error) => void) | undefined;
  private resumeResponse: (() => void) | undefined;
  private response: UpstreamResponse | undefined;
  private feed: BodyFeed | undefined;
  private requestWritten = false;
  private bodyStarted = false;
  /** Interim (1xx) answers seen. */
  private interim = 0;
  private settled = false;
  private cancelled = false;
  /** While dispatch() runs: an error then is the request as built, refused before anything went out. */
  dispatching = true;

  constructor(private readonly on: AttemptEvents) {}

  start(r: AttemptRequest): void {
    let body: Buffer | BodyFeed | undefined;
    if (Buffer.isBuffer(r.body)) body = r.body;
    else if (r.body) body = this.feed = new BodyFeed(r.body);
    r.pool.dispatch(
      {
        method: r.method,
        path: r.path,
        headers: r.headers,
        body,
        // undici closes the connection after HEAD itself; `reset: false` would override that.
        reset: r.closeAfter ? true : undefined,
      },
      this,
    );
    this.dispatching = false;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortRequest = abort;
    if (this.cancelled) return abort(CANCELLED());
    // undici calls this just before it writes the request on a connected socket.
    this.requestWritten = true;
  }

  onBodySent(): void {
    this.bodyStarted = true;
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    // llhttp reads any three digits; undici passes 000–099 on as if interim.
    if (statusCode < 100) {
      this.abort(codeError(BAD_RESPONSE, `status code ${statusCode}`));
      return false;
    }
    // 1xx interim answers (103 Early Hints) are not relayed; the final one follows. Each restarts undici's
    // response-head timer, so an upstream answering only 1xx would hold the request for ever: past a few,
    // it is a bad answer (Go's transport, which the apiserver proxy uses, stopped at five as well).
    if (statusCode < 200 && !this.settled && ++this.interim > MAX_INTERIM_ANSWERS) {
      this.abort(codeError(BAD_RESPONSE, `more than ${MAX_INTERIM_ANSWERS} interim (1xx) answers`));
      return false;
    }
    if (statusCode < 200 || this.settled) return true;
    this.settled = true;
    this.resumeResponse = resume;
    const res = (this.response = new UpstreamResponse(
      statusCode,
      reasonPhrase(statusCode, statusText),
      headersFromRaw(raw),
      this,
    ));
    this.feed?.detach();
    if (leavesConnectionInDoubt(res)) {
      // A 204/304 announcing a body: node reads none, so neither do we, and the connection goes.
      res.complete = true;
      res.push(null);
      this.on.response(res);
      this.abort(CANCELLED());
      return false;
    }
    this.on.response(res);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.response!.chunk(chunk);
  }

  onComplete(): void {
    this.response!.whole();
  }

  onError(err: Error): void {
    if (this.dispatching) throw err; // undici refused the request as built: the caller answers 500
    this.feed?.detach();
    if (this.response) {
      // After the head: the relay sees the body fail and closes the client connection.
      this.response.fail(attemptError(err));
      return;
    }
    if (this.settled) return;
    this.settled = true;
    this.on.failed(attemptError(err), { requestWritten: this.requestWritten, bodyStarted: this.bodyStarted });
  }

  /** UpstreamControl: the response body was read; more may come. */
  resume(): void {
    this.resumeResponse?.();
  }

  /** UpstreamControl: the response was let go before its end. */
  abort(err: Error): void {
    this.abortRequest?.(err);
  }

  cancel(): void {
    this.cancelled = true;
    this.settled = true;
    this.feed?.detach();
    if (this.response) {
      if (!this.response.complete) this.response.destroy();
    } else this.abortRequest?.(CANCELLED());
  }
}

/** Starts an attempt; throws when undici refuses the request as built (nothing went out). */
export function startAttempt(r: AttemptRequest, on: AttemptEvents): RunningAttempt {
  const attempt = new Attempt(on);
  attempt.start(r);
  return attempt;
}
