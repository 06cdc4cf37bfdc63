/** Targets, clocks and seeded randomness for the balancer tests. */
import { EndpointPicker, type EndpointPickerOptions } from '../../../src/proxy/balancer/index.js';
import type { Endpoint, Target } from '../../../src/request/target.js';

export function endpoint(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { ip, port: 8080, ready: true, serving: true, terminating: false, ...extra };
}

/** A pod that is shutting down but still answers, as EndpointSlice reports it. */
export function terminating(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return endpoint(ip, { ready: false, serving: true, terminating: true, ...extra });
}

export function service(endpoints: Endpoint[], extra: Partial<Target> = {}): Target {
  return {
    kind: 'services',
    namespace: 'team-a',
    name: 'web',
    segment: 'web:http',
    scheme: 'http',
    endpoints,
    path: '/',
    key: 'services/team-a/web:http',
    ...extra,
  };
}

/** mulberry32: a small seeded PRNG so every run makes the same choices. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Clock {
  ms = 1_000_000;
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const outlierDefaults = { consecutiveFailures: 3, baseEjectionTime: 10_000, maxEjectionPercent: 50 };

export function picker(clock: Clock, opts: Partial<EndpointPickerOptions> = {}): EndpointPicker {
  return new EndpointPicker({
    policy: 'p2c',
    outlierDetection: outlierDefaults,
    now: clock.now,
    random: seeded(42),
    ...opts,
  });
}

/** Picks `n` times (without finishing the requests unless `finish`), counting per IP. */
export function tally(
  p: EndpointPicker,
  target: Target,
  n: number,
  opts: { finish?: boolean; client?: string } = {},
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const chosen = p.pick(target, { key: opts.client ?? `client-${i}` });
    if (!chosen) throw new Error('no endpoint picked');
    counts[chosen.ip] = (counts[chosen.ip] ?? 0) + 1;
    if (opts.finish) p.start(target, chosen)('success');
  }
  return counts;
}

/** Makes the endpoint fail `times` times in a row with the given outcome. */
export function fail(
  p: EndpointPicker,
  target: Target,
  ep: Endpoint,
  times: number,
  outcome: 'connect-error' | 'server-error' = 'connect-error',
): void {
  for (let i = 0; i < times; i++) p.start(target, ep)(outcome);
}
