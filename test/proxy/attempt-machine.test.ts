/**
 * The attempt/retry loop as a table: the events of one request (with the real
 * retry rule of balancer/retry.ts and a budget that allows or not) → the
 * decisions taken, what the balancer is told, and the answer the client gets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import {
  INITIAL,
  step,
  type AttemptEvent,
  type AttemptFailure,
  type Outcome,
  type RetryGate,
} from '../../src/proxy/attempt-machine.js';
import { shouldRetry } from '../../src/proxy/balancer/retry.js';

/** The balancer's rule (method, how far it got, `retries`), and a budget that has a token or not. */
function gate(method: string, retries = 2, budget = true): RetryGate {
  return {
    mayRetry: (f, attempt) =>
      shouldRetry({
        method,
        requestWritten: f.requestWritten,
        bodyStarted: f.bodyStarted,
        bodyReplayable: f.bodyReplayable,
        errorCode: f.code,
        attempt,
        retries,
      }) && budget,
  };
}

const failure = (code: string, over: Partial<AttemptFailure> = {}): AttemptFailure => ({
  code,
  message: code === 'ECONNECTTIMEOUT' ? 'connect timeout' : `connect ${code}`,
  requestWritten: false,
  bodyStarted: false,
  bodyReplayable: false,
  ...over,
});
const failed = (f: AttemptFailure, clientGone = false): AttemptEvent => ({
  type: 'failed',
  failure: f,
  clientGone,
});
const picked = (found = true): AttemptEvent => ({ type: 'picked', found });

interface Run {
  /** Decisions in order, `attempt` marked `attempt+replay` when the copy is sent. */
  decisions: string[];
  reports: Outcome[];
  /** The status the client is answered with (answer decisions only). */
  status?: number;
  message?: string;
  retries: number;
  cancels: number;
  connectErrors: number;
}

function run(events: AttemptEvent[], g: RetryGate): Run {
  let s = INITIAL;
  const out: Run = { decisions: [], reports: [], retries: 0, cancels: 0, connectErrors: 0 };
  for (const e of events) {
    const t = step(s, e, g, 'web:http');
    s = t.state;
    const d = t.decision;
    out.decisions.push(d.do === 'attempt' && d.replay ? 'attempt+replay' : d.do);
    if (t.report) out.reports.push(t.report);
    if (t.cancel) out.cancels++;
    if (t.connectError) out.connectErrors++;
    if (d.do === 'answer') {
      out.status = d.error.status;
      out.message = d.error.message;
    }
  }
  out.retries = s.retries;
  return out;
}

describe('a failed attempt: retry on another endpoint, or which error', () => {
  const cases: {
    name: string;
    method: string;
    events: AttemptEvent[];
    budget?: boolean;
    retries?: number;
    decisions: string[];
    reports: Outcome[];
    status?: number;
    retried: number;
  }[] = [
    {
      name: 'connect refused, another endpoint: retried, then relayed',
      method: 'POST',
      events: [
        picked(),
        failed(failure('ECONNREFUSED')),
        picked(),
        { type: 'response' },
        { type: 'relayed', outcome: 'success' },
      ],
      decisions: ['attempt', 'pick', 'attempt', 'relay', 'finish'],
      reports: ['connect-error', 'success'],
      retried: 1,
    },
    {
      name: 'connect refused, no other endpoint: 503 naming the cause',
      method: 'GET',
      events: [picked(), failed(failure('ECONNREFUSED')), picked(false)],
      decisions: ['attempt', 'pick', 'answer'],
      reports: ['connect-error'],
      status: 503,
      retried: 0,
    },
    {
      name: 'connect timeout, no other endpoint: 504',
      method: 'GET',
      events: [picked(), failed(failure('ECONNECTTIMEOUT')), picked(false)],
      decisions: ['attempt', 'pick', 'answer'],
      reports: ['connect-error'],
      status: 504,
      retried: 0,
    },
    {
      name: 'connect timeout, another endpoint: retried',
      method: 'PUT',
      events: [picked(), failed(failure('ECONNECTTIMEOUT')), picked()],
      decisions: ['attempt', 'pick', 'attempt'],
      reports: ['connect-error'],
      retried: 1,
    },
    {
      name: 'response header timeout: not a connect error, never retried, 504',
      method: 'GET',
      events: [picked(), failed(failure('ERESPONSETIMEOUT', { requestWritten: true })), picked()],
      decisions: ['attempt', 'pick', 'answer'],
      reports: ['server-error'],
      status: 504,
      retried: 0,
    },
    {
      name: 'GET reset after it was written: idempotent, retried',
      method: 'GET',
      events: [picked(), failed(failure('ECONNRESET', { requestWritten: true })), picked()],
      decisions: ['attempt', 'pick', 'attempt'],
      reports: ['connect-error'],
      retried: 1,
    },
    {
      name: 'POST reset after it was written: not idempotent, 503',
      method: 'POST',
      events: [picked(), failed(failure('ECONNRESET', { requestWritten: true })), picked()],
      decisions: ['attempt', 'pick', 'answer'],
      reports: ['connect-error'],
      status: 503,
      retried: 0,
    },
    {
      name: 'PUT reset after its body went out, whole copy kept: retried from the copy',
      method: 'PUT',
      events: [
        picked(),
        failed(failure('ECONNRESET', { requestWritten: true, bodyStarted: true, bodyReplayable: true })),
        picked(),
      ],
      decisions: ['attempt', 'pick', 'attempt+replay'],
      reports: ['connect-error'],
      retried: 1,
    },
    {
      name: 'PUT reset after its body went out, no copy (too large): 503',
      method: 'PUT',
      events: [
        picked(),
        failed(failure('ECONNRESET', { requestWritten: true, bodyStarted: true })),
        picked(),
      ],
      decisions: ['attempt', 'pick', 'answer'],
      reports: ['connect-error'],
      status: 503,
      retried: 0,
    },
    {
      name: 'the retry budget is spent: 503, no retry',
      method: 'GET',
      budget: false,
      events: [picked(), failed(failure('ECONNREFUSED')), picked()],
      decisions: ['attempt', 'pick', 'answer'],
      reports: ['connect-error'],
      status: 503,
      retried: 0,
    },
    {
      name: 'retries exhausted (retries: 1): the second failure is answered',
      method: 'GET',
      retries: 1,
      events: [
        picked(),
        failed(failure('ECONNREFUSED')),
        picked(),
        failed(failure('ECONNREFUSED')),
        picked(),
      ],
      decisions: ['attempt', 'pick', 'attempt', 'pick', 'answer'],
      reports: ['connect-error', 'connect-error'],
      status: 503,
      retried: 1,
    },
    {
      name: 'a malformed response (parser error): 502, never retried',
      method: 'GET',
      events: [picked(), failed(failure('HPE_INVALID_STATUS', { requestWritten: true })), picked()],
      decisions: ['attempt', 'pick', 'answer'],
      reports: ['server-error'],
      status: 502,
      retried: 0,
    },
    {
      name: 'a refused response head: 502, the attempt cancelled',
      method: 'GET',
      events: [
        picked(),
        { type: 'response' },
        { type: 'refused', error: new GatewayError(502, 'BadGateway', 'x'), headersSent: false },
      ],
      decisions: ['attempt', 'relay', 'answer'],
      reports: ['server-error'],
      status: 502,
      retried: 0,
    },
    {
      name: 'no endpoint at all: 503 naming the Service segment',
      method: 'GET',
      events: [picked(false)],
      decisions: ['answer'],
      reports: [],
      status: 503,
      retried: 0,
    },
    {
      name: 'the client left before the answer: the attempt is cancelled, nothing answered',
      method: 'GET',
      events: [picked(), { type: 'client-gone' }, failed(failure('ECONNRESET'))],
      decisions: ['attempt', 'finish', 'ignore'],
      reports: ['cancelled'],
      retried: 0,
    },
    {
      name: 'the client left, then the attempt failed: cancelled, no retry',
      method: 'GET',
      events: [picked(), failed(failure('ECONNREFUSED'), true), picked()],
      decisions: ['attempt', 'finish', 'ignore'],
      reports: ['cancelled'],
      retried: 0,
    },
    {
      name: 'the client left while the response streamed: the relay reports it',
      method: 'GET',
      events: [
        picked(),
        { type: 'response' },
        { type: 'client-gone' },
        { type: 'relayed', outcome: 'cancelled' },
      ],
      decisions: ['attempt', 'relay', 'ignore', 'finish'],
      reports: ['cancelled'],
      retried: 0,
    },
    {
      name: 'a chunked body over the limit before the answer: 413',
      method: 'POST',
      events: [picked(), { type: 'body-over-limit', headersSent: false }],
      decisions: ['attempt', 'answer'],
      reports: ['cancelled'],
      status: 413,
      retried: 0,
    },
    {
      name: 'a chunked body over the limit after the head went out: the client connection is cut',
      method: 'POST',
      events: [picked(), { type: 'response' }, { type: 'body-over-limit', headersSent: true }],
      decisions: ['attempt', 'relay', 'cut'],
      reports: ['cancelled'],
      retried: 0,
    },
    {
      name: 'once the response started, a reset is never retried: the relay cuts the client',
      method: 'GET',
      events: [
        picked(),
        { type: 'response' },
        failed(failure('ECONNRESET', { requestWritten: true })),
        picked(),
        { type: 'relayed', outcome: 'cancelled' },
      ],
      decisions: ['attempt', 'relay', 'ignore', 'ignore', 'finish'],
      reports: ['cancelled'],
      retried: 0,
    },
    {
      name: 'a 5xx relayed whole: server-error for outlier detection',
      method: 'GET',
      events: [picked(), { type: 'response' }, { type: 'relayed', outcome: 'server-error' }],
      decisions: ['attempt', 'relay', 'finish'],
      reports: ['server-error'],
      retried: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = run(c.events, gate(c.method, c.retries, c.budget ?? true));
      assert.deepEqual(r.decisions, c.decisions);
      assert.deepEqual(r.reports, c.reports);
      assert.equal(r.status, c.status);
      assert.equal(r.retries, c.retried);
    });
  }
});

test('the answer quotes the cause as the apiserver does', () => {
  const r = run([picked(), failed(failure('ECONNREFUSED')), picked(false)], gate('GET'));
  assert.equal(r.message, 'error trying to reach service: connect ECONNREFUSED');
  const none = run([picked(false)], gate('GET'));
  assert.equal(none.message, 'no endpoints available for service "web:http"');
});

test('connect errors are counted for the metric; other failures are not', () => {
  assert.equal(run([picked(), failed(failure('ECONNREFUSED')), picked(false)], gate('GET')).connectErrors, 1);
  assert.equal(
    run([picked(), failed(failure('ERESPONSETIMEOUT')), picked(false)], gate('GET')).connectErrors,
    0,
  );
});

test('cancellation reaches the running attempt on refusal, client departure and an oversized body', () => {
  assert.equal(run([picked(), { type: 'client-gone' }], gate('GET')).cancels, 1);
  assert.equal(run([picked(), { type: 'body-over-limit', headersSent: false }], gate('POST')).cancels, 1);
  // A failed attempt is already over: nothing to cancel.
  assert.equal(run([picked(), failed(failure('ECONNREFUSED')), picked(false)], gate('GET')).cancels, 0);
});

test('after the answer every event is ignored: a request is answered once', () => {
  const r = run(
    [picked(false), picked(), failed(failure('ECONNREFUSED')), { type: 'response' }, { type: 'client-gone' }],
    gate('GET'),
  );
  assert.deepEqual(r.decisions, ['answer', 'ignore', 'ignore', 'ignore', 'ignore']);
  assert.deepEqual(r.reports, []);
});
