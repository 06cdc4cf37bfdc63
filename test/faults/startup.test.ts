/**
 * Start-up against an API server that cannot list yet: the probes answer at
 * once (a liveness probe must not kill a process that is only waiting),
 * /readyz says which part is not ready, and readiness turns with the first
 * successful LIST. The restart backoff runs on a clock the test moves, so the
 * gateway stays unready exactly until the test lets the third retry happen.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createGateway } from '../../src/server/gateway.js';
import { eventually } from '../support/eventually.js';
import { startFakeApiServer } from '../support/fake-apiserver.js';
import { ManualClock } from '../support/manual-clock.js';
import { scrape } from '../support/scrape.js';

test('while the first LISTs fail, /healthz is live and /readyz is 503 naming the caches; then ready', async () => {
  const api = await startFakeApiServer({ objects: [] });
  // Three failed LISTs, each followed by a backoff wait on the test's clock.
  api.failRequests({ verb: 'list', resource: 'services' }, 500, 3);
  const clock = new ManualClock();
  const config = parseConfig(
    {
      listen: { address: '127.0.0.1', port: 0, shutdown: { delay: '0s', timeout: '2s' } },
      admin: { address: '127.0.0.1', port: 0 },
      kubernetes: { kubeconfig: api.writeKubeconfig() },
      logging: { level: 'silent', audit: { enabled: false } },
    },
    { env: {} },
  );
  const gateway = await createGateway({ config, logger: silentLogger(), insecureNoAuth: true, clock });
  const listening = gateway.listen();
  try {
    // The admin port listens first (on a port of its own choosing), before the caches fill.
    await eventually(() => gateway.admin.listening);
    const admin = `http://127.0.0.1:${(gateway.admin.address() as AddressInfo).port}`;
    assert.equal((await fetch(`${admin}/healthz`)).status, 200, 'live at once');
    for (let failed = 1; failed <= 3; failed++) {
      await clock.whenPending(1); // LIST number `failed` has failed; the retry waits for the clock
      const unready = await fetch(`${admin}/readyz`);
      assert.equal(unready.status, 503, 'not ready before the caches have synced');
      assert.match(await unready.text(), /cluster-state/);
      assert.equal(
        (await scrape(admin)).samples.get('kube_bastion_cache_synced'),
        0,
        'and says so on /metrics',
      );
      assert.equal((await fetch(`${admin}/healthz`)).status, 200, 'and still live');
      clock.advance(30_000); // the longest backoff
    }

    const { url } = await listening;
    assert.equal((await fetch(`${admin}/readyz`)).status, 200, 'ready once the LIST succeeded');
    assert.equal((await scrape(admin)).samples.get('kube_bastion_cache_synced'), 1);
    assert.ok(api.requests.filter((r) => r.resource === 'services' && r.status === 500).length >= 3);
    // The public port opens with the synced caches: an unknown Service is a 404, not a 503.
    const res = await fetch(`${url}/api/v1/namespaces/team-a/services/nope/proxy/`);
    assert.equal(res.status, 404);
  } finally {
    await listening.catch(() => undefined);
    await gateway.close();
    await api.stop();
  }
});
