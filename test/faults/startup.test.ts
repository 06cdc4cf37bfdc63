/**
 * Start-up against an API server that cannot list yet: the probes answer at
 * once (a liveness probe must not kill a process that is only waiting),
 * /readyz says which part is not ready, and readiness turns with the first
 * successful LIST.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createGateway } from '../../src/server/gateway.js';
import { eventually } from '../support/eventually.js';
import { startFakeApiServer } from '../support/fake-apiserver.js';
import { freePort } from '../support/free-port.js';

test('while the first LISTs fail, /healthz is live and /readyz is 503 naming the caches; then ready', async () => {
  const api = await startFakeApiServer({ objects: [] });
  // Three failed LISTs: with the 0.5 s doubling backoff, the caches sync after about 3.5 s.
  api.failRequests({ verb: 'list', resource: 'services' }, 500, 3);
  const adminPort = await freePort();
  const config = parseConfig(
    {
      listen: { address: '127.0.0.1', port: 0, shutdown: { delay: '0s', timeout: '2s' } },
      admin: { address: '127.0.0.1', port: adminPort },
      kubernetes: { kubeconfig: api.writeKubeconfig() },
      logging: { level: 'silent', audit: { enabled: false } },
    },
    { env: {} },
  );
  const gateway = await createGateway({ config, logger: silentLogger(), insecureNoAuth: true });
  const listening = gateway.listen();
  const admin = `http://127.0.0.1:${adminPort}`;
  try {
    await eventually(async () => (await fetch(`${admin}/healthz`)).status === 200, 3000, 20);
    const unready = await fetch(`${admin}/readyz`);
    assert.equal(unready.status, 503, 'not ready before the caches have synced');
    assert.match(await unready.text(), /cluster-state/);

    const { url } = await listening;
    assert.equal((await fetch(`${admin}/readyz`)).status, 200, 'ready once the LIST succeeded');
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
