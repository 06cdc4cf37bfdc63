/**
 * The attempt/retry loop of one proxied request as a pure state machine:
 * what happened (an endpoint was or was not found, an attempt failed and how
 * far it got, a response head arrived or was refused, the relay ended, the
 * client left, the body passed its limit) → what to do next (attempt on
 * another endpoint, relay, answer with which GatewayError, cut the client
 * connection, finish). exchange.ts runs the IO; everything it decides is here,
 * and test/proxy/attempt-machine.test.ts holds the table.
 *
 * A retry needs two answers the machine does not own: whether another
 * endpoint is left (the picker: the machine says when to ask, and the
 * 'picked' event brings the answer; it is asked first, so that a retry is only
 * spent when there is somewhere to go) and whether the retry policy allows it
 * (method, how far the failed attempt got, the retry budget), passed in as a
 * function: it spends a budget token, so it is asked last.
 */
import { GatewayError, serviceUnavailable } from '../errors.js';
import type { Outcome } from './balancer/outlier.js';
import { isConnectError } from './balancer/retry.js';
import { upstreamError } from './upstream-error.js';

/** What the balancer is told about one attempt (outlier detection): its own type. */
export type { Outcome };

/**
 * Before the first attempt, an attempt under way, an attempt failed and another endpoint is being
 * picked, its response being relayed, answered.
 */
export type Phase = 'start' | 'attempting' | 'choosing' | 'relaying' | 'done';

export interface MachineState {
  readonly phase: Phase;
  /** Attempts after the first. */
  readonly retries: number;
  /** While choosing: how the last attempt failed. */
  readonly failure?: AttemptFailure;
}

export const INITIAL: MachineState = { phase: 'start', retries: 0 };

/** How far a failed attempt got: what decides whether it may be repeated on another endpoint. */
export interface AttemptFailure {
  /** node's / the forwarder's error code (ECONNREFUSED, ECONNECTTIMEOUT, EBADRESPONSE, HPE_…). */
  code: string | undefined;
  message: string;
  /** Request bytes went out on an established connection: the upstream may have acted on them. */
  requestWritten: boolean;
  /** Part of the client's body was read and sent: the client stream cannot give it again. */
  bodyStarted: boolean;
  /** A whole copy of the body is kept (small idempotent bodies): it can be sent again. */
  bodyReplayable: boolean;
}

export type AttemptEvent =
  /** The picker was asked for an endpoint (first, or after a failure) and found one or not. */
  | { type: 'picked'; found: boolean }
  /** The attempt failed before a response head; `clientGone`: nobody waits for the answer any more. */
  | { type: 'failed'; failure: AttemptFailure; clientGone: boolean }
  /** A response head that can be relayed arrived. */
  | { type: 'response' }
  /** The response head (or its rewrite) cannot be relayed; `headersSent`: something already went out. */
  | { type: 'refused'; error: GatewayError; headersSent: boolean }
  /** The client response closed: complete (the upstream's status decides) or cut short. */
  | { type: 'relayed'; outcome: Outcome }
  /** The client went away before the response head. */
  | { type: 'client-gone' }
  /** A chunked body passed maxRequestBodyBytes. */
  | { type: 'body-over-limit'; headersSent: boolean };

export type Decision =
  /** Ask the picker for another endpoint (the failed ones excluded), then send a 'picked' event. */
  | { do: 'pick' }
  /** Start an attempt on the endpoint just picked; `replay`: send the kept copy instead of the stream. */
  | { do: 'attempt'; replay: boolean }
  /** Relay the response to the client. */
  | { do: 'relay' }
  /** Nothing reached the client: answer with this error (the caller writes it). */
  | { do: 'answer'; error: GatewayError }
  /** The response head is out: only closing the client connection is left. */
  | { do: 'cut' }
  /** Done; the response (if any) went out or nobody is listening. */
  | { do: 'finish' }
  /** An event after the request was answered: nothing to do. */
  | { do: 'ignore' };

export interface Transition {
  state: MachineState;
  decision: Decision;
  /** Tell the balancer how the current attempt ended. */
  report?: Outcome;
  /** Cancel the running upstream request: its connection is closed, never reused. */
  cancel?: boolean;
  /** A connection could not be made or was lost (kube_bastion_upstream_connect_errors_total). */
  connectError?: boolean;
}

/** The retry policy, asked only when another endpoint is left: `attempt` counts from 1 for the first retry. */
export interface RetryGate {
  mayRetry(failure: AttemptFailure, attempt: number): boolean;
}

const IGNORE: Decision = { do: 'ignore' };

export function step(s: MachineState, e: AttemptEvent, gate: RetryGate, service = ''): Transition {
  if (s.phase === 'done') return { state: s, decision: IGNORE };
  switch (e.type) {
    case 'picked':
      if (s.phase === 'choosing') return retryOrAnswer(s, e.found, gate);
      if (s.phase !== 'start') return { state: s, decision: IGNORE };
      return e.found
        ? { state: { ...s, phase: 'attempting' }, decision: { do: 'attempt', replay: false } }
        : done(s, {
            do: 'answer',
            error: serviceUnavailable(`no endpoints available for service "${service}"`),
          });
    case 'failed':
      if (s.phase !== 'attempting') return { state: s, decision: IGNORE };
      if (e.clientGone) return done(s, { do: 'finish' }, { report: 'cancelled' });
      return {
        // The balancer hears of the failure before the next pick (outlier detection may eject it).
        state: { ...s, phase: 'choosing', failure: e.failure },
        decision: { do: 'pick' },
        report: isConnectError(e.failure.code) ? 'connect-error' : 'server-error',
        connectError: isConnectError(e.failure.code),
      };
    case 'response':
      return s.phase === 'attempting'
        ? { state: { ...s, phase: 'relaying' }, decision: { do: 'relay' } }
        : { state: s, decision: IGNORE };
    case 'refused':
      // Nothing (or only a head) reached the client; the connection is never reused after such an answer.
      return done(s, e.headersSent ? { do: 'cut' } : { do: 'answer', error: e.error }, {
        report: 'server-error',
        cancel: true,
      });
    case 'relayed':
      return done(s, { do: 'finish' }, { report: e.outcome });
    case 'client-gone':
      // Once relaying, the relay reports the client's leaving itself ('relayed', cancelled).
      if (s.phase === 'relaying') return { state: s, decision: IGNORE };
      return done(s, { do: 'finish' }, { report: 'cancelled', cancel: true });
    case 'body-over-limit':
      return done(
        s,
        e.headersSent
          ? { do: 'cut' }
          : { do: 'answer', error: new GatewayError(413, 'RequestEntityTooLarge', 'request body too large') },
        { report: 'cancelled', cancel: true },
      );
  }
}

/** After a failed attempt: a retry when there is another endpoint and the policy allows it. */
function retryOrAnswer(s: MachineState, found: boolean, gate: RetryGate): Transition {
  const failure = s.failure!;
  if (found && gate.mayRetry(failure, s.retries + 1)) {
    return {
      state: { phase: 'attempting', retries: s.retries + 1 },
      decision: { do: 'attempt', replay: failure.bodyStarted },
    };
  }
  const error = upstreamError(Object.assign(new Error(failure.message), { code: failure.code }));
  return done(s, { do: 'answer', error });
}

function done(
  s: MachineState,
  decision: Decision,
  extra: Omit<Transition, 'state' | 'decision'> = {},
): Transition {
  return { state: { phase: 'done', retries: s.retries }, decision, ...extra };
}
