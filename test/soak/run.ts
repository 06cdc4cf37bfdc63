/**
 * `npm run soak`: measures the gateway's capacity, then holds it at half that
 * for SOAK_SECONDS (default 600) with HTTP, 1,000 WebSockets echoing and a
 * browser sign-in every two seconds. Pass: zero errors anywhere, RSS growth
 * under 10 % after warm-up, open file descriptors flat. Bounded in time, only
 * loopback traffic; exits 1 when a criterion fails. Environment:
 *   SOAK_SECONDS (600)  SOAK_SOCKETS (1000)  SOAK_CAPACITY_SECONDS (10)
 */
import { http, login, openFleet } from './load.js';
import { startStack } from './stack.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const seconds = num('SOAK_SECONDS', 600);
const socketCount = num('SOAK_SOCKETS', 1000);
const capacitySeconds = num('SOAK_CAPACITY_SECONDS', 10);
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);
const mb = (bytes: number) => Math.round(bytes / 1048576);

const stack = await startStack();
let failed: boolean;
try {
  log(`gateway pid ${stack.pid} at ${stack.base}; measuring capacity for ${capacitySeconds} s`);
  const capacity = await http(stack.base, stack.token, { seconds: capacitySeconds, connections: 32 });
  const rate = Math.max(1, Math.floor(capacity.rps / 2));
  log(
    `capacity ${Math.round(capacity.rps)} req/s (p99 ${capacity.p99ms} ms); soaking at ${rate} req/s for ${seconds} s`,
  );

  const fleet = await openFleet(stack.base, stack.token, socketCount);
  log(`${fleet.open} WebSockets open`);
  const samples: { t: number; rss: number; fds: number }[] = [];
  const started = Date.now();
  const sample = () =>
    samples.push({ t: (Date.now() - started) / 1000, rss: stack.rssBytes(), fds: stack.openFds() });
  sample();
  let logins = 0;
  let loginFailures = 0;
  let stop = false;
  const background = (async () => {
    let users = 0;
    while (!stop) {
      const tick = Date.now();
      await fleet.round(5000);
      const ok = await login(stack.base, users++ % 2 ? 'alice' : 'bob').catch(() => false);
      logins++;
      if (!ok) loginFailures++;
      sample();
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - tick))));
    }
  })();
  const load = await http(stack.base, stack.token, { seconds, connections: 32, rate });
  stop = true;
  await background;
  // The last sample was taken under load, like the warm-up one: compare like with like.

  // Warm-up: the first fifth (at least 10 s) — JIT, pools and caches fill up there.
  const warmEnd = Math.max(10, seconds / 5);
  const warm = samples.find((s) => s.t >= warmEnd) ?? samples[0];
  const last = samples.at(-1)!;
  const peak = samples.reduce((m, s) => Math.max(m, s.rss), 0);
  const rssGrowth = (last.rss - warm.rss) / warm.rss;
  const fdDrift = last.fds - warm.fds;
  const errorLines = stack.problems.filter((l) => /"level":"(error|fatal)"/.test(l) || !l.startsWith('{'));
  const errors =
    load.errors + load.timeouts + load.non2xx + fleet.failures + loginFailures + errorLines.length;
  const result = {
    seconds,
    capacityRps: Math.round(capacity.rps),
    rateRps: rate,
    requests: load.requests,
    p99ms: load.p99ms,
    httpErrors: load.errors + load.timeouts + load.non2xx,
    websockets: fleet.open,
    wsMessages: fleet.echoed,
    wsFailures: fleet.failures,
    logins,
    loginFailures,
    gatewayErrorLines: errorLines.length,
    rssAfterWarmupMB: mb(warm.rss),
    rssEndMB: mb(last.rss),
    rssPeakMB: mb(peak),
    rssGrowthPct: Math.round(rssGrowth * 1000) / 10,
    fdsAfterWarmup: warm.fds,
    fdsEnd: last.fds,
  };
  const held = fleet.open;
  await fleet.close();
  const checks = [
    { name: 'zero errors', ok: errors === 0 },
    { name: 'RSS growth < 10 %', ok: rssGrowth < 0.1 },
    // Client keep-alive sockets and the upstream pool come and go by a few dozen; a leak grows without bound.
    { name: 'file descriptors flat (±5 % or ±50)', ok: Math.abs(fdDrift) <= Math.max(50, warm.fds * 0.05) },
    { name: `${socketCount} WebSockets held`, ok: held === socketCount },
  ];
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  for (const c of checks) log(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}`);
  if (errorLines.length) log(`gateway log:\n${errorLines.slice(0, 20).join('\n')}`);
  failed = checks.some((c) => !c.ok);
} finally {
  await stack.close();
}
process.exit(failed ? 1 : 0);
