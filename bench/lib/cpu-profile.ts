/**
 * Reading a V8 `.cpuprofile` (node --cpu-prof): self time per sample,
 * attributed by where the running function lives. Pure, so the attribution
 * rules are testable without a profile run.
 *
 *   gateway    kube-bastion's own code: src/, dist/, or a compiled bench build
 *   libraries  node_modules (per package as well)
 *   node       Node's JavaScript (node:internal/…, node:http…)
 *   native     functions without a script: C++ bindings (writev, the HTTP
 *              parser) and V8 builtins; time spent in the kernel during a
 *              syscall is sampled here
 *   program    (program): V8 and libuv outside any JavaScript frame
 *   gc         (garbage collector)
 *   idle       (idle): the event loop waiting — not CPU, left out of the shares
 */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export type Category = 'gateway' | 'libraries' | 'node' | 'native' | 'program' | 'gc' | 'idle' | 'other';
export const CATEGORIES: readonly Category[] = [
  'gateway',
  'libraries',
  'node',
  'native',
  'program',
  'gc',
  'idle',
  'other',
];

export const CATEGORY_LABEL: Record<Category, string> = {
  gateway: 'gateway code (src/, dist/)',
  libraries: 'libraries (node_modules)',
  node: "Node's JavaScript (node:internal, node:http…)",
  native: 'native: C++ bindings and V8 builtins (syscalls included)',
  program: '(program): V8 and libuv outside JavaScript',
  gc: '(garbage collector)',
  idle: '(idle)',
  other: 'other scripts (the contestant itself: bench/…)',
};

const GATEWAY = /\/(src|dist)\/|\/\.cache\/kube-bastion-[^/]+\//;

export function categoryOf(frame: ProfileNode['callFrame']): Category {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)' || fn === '(root)') return 'program';
  if (url === '') return 'native';
  if (url.startsWith('node:')) return 'node';
  if (GATEWAY.test(url) && !/\/node_modules\/(?!\.cache\/)/.test(url)) return 'gateway';
  if (url.includes('/node_modules/')) return 'libraries';
  return 'other';
}

/** The package a node_modules URL belongs to (`@scope/name` or `name`). */
export function packageOf(url: string): string | undefined {
  const m = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return m && m[1] !== '.cache' ? m[1] : undefined;
}

/**
 * Self time (µs) per key over the samples inside [from, to] µs after the
 * profile's start (the window where the load ran, not start-up or shutdown).
 */
export function selfTime(
  profile: Profile,
  key: (node: ProfileNode) => string,
  window: { from?: number; to?: number } = {},
): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    const at = t - profile.startTime;
    if (at < (window.from ?? 0) || at > (window.to ?? Infinity)) continue;
    const k = key(byId.get(profile.samples[i])!);
    totals.set(k, (totals.get(k) ?? 0) + delta);
  }
  return totals;
}

export interface Attribution {
  /** Share of the busy (non-idle) time per category, 0..1. */
  shares: Record<Category, number>;
  /** Busy and idle time in the window (s). */
  busySeconds: number;
  idleSeconds: number;
  /** Share of busy time per library package, largest first. */
  libraries: [string, number][];
}

export function attribute(profile: Profile, window: { from?: number; to?: number } = {}): Attribution {
  const byCategory = selfTime(profile, (n) => categoryOf(n.callFrame), window);
  const idle = byCategory.get('idle') ?? 0;
  const busy = [...byCategory.entries()].filter(([k]) => k !== 'idle').reduce((sum, [, v]) => sum + v, 0);
  const share = (us: number) => (busy > 0 ? us / busy : 0);
  const shares = Object.fromEntries(
    CATEGORIES.map((c) => [c, c === 'idle' ? 0 : share(byCategory.get(c) ?? 0)]),
  ) as Record<Category, number>;
  const packages = selfTime(profile, (n) => packageOf(n.callFrame.url) ?? '', window);
  packages.delete('');
  const libraries = [...packages.entries()]
    .map(([k, v]): [string, number] => [k, share(v)])
    .sort((a, b) => b[1] - a[1]);
  return { shares, busySeconds: busy / 1e6, idleSeconds: idle / 1e6, libraries };
}
