/**
 * The watch-backed cluster state against the fake API server, through the
 * gateway's own API client (src/kube/api-client.ts): it syncs, follows endpoint churn quickly,
 * converges after 410 Gone and cut watches, keeps serving while the API
 * server is away and resumes without relisting when it returns. Cache
 * lifetimes and the staleness bound are read on a clock the test moves; the
 * restart backoff stays real (and short) so reconnects happen by themselves.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  createKubeClusterState,
  type KubeClusterState,
  type KubeClusterStateOptions,
} from '../../src/kube/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import { eventually } from '../support/eventually.js';
import { ManualClock } from '../support/manual-clock.js';
import {
  endpointSlice,
  node,
  pod,
  service,
  startFakeApiServer,
  syntheticCluster,
  type FakeApiServer,
  type FakeApiServerOptions,
} from '../support/fake-apiserver.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  serverOpts: FakeApiServerOptions = {},
  stateOpts: Partial<KubeClusterStateOptions> = {},
): Promise<{ api: FakeApiServer; state: KubeClusterState; restarts: string[] }> {
  const api = await startFakeApiServer({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80, targetPort: 8080 }]),
      endpointSlice(
        'team-a',
        'web',
        [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }],
        [{ name: 'http', port: 8080 }],
        {
          name: 'web-abcde',
        },
      ),
      service('team-b', 'api', [443]),
    ],
    bookmarkIntervalMs: 100,
    ...serverOpts,
  });
  cleanups.push(() => api.stop());
  const restarts: string[] = [];
  const state = createKubeClusterState(api.kubeConfig(), {
    logger: silentLogger(),
    podCacheTTL: 200,
    nodeCacheTTL: 200,
    backoff: { initialMs: 20, maxMs: 100 },
    onWatchRestart: (resource) => restarts.push(resource),
    ...stateOpts,
  });
  cleanups.push(() => state.stop());
  return { api, state, restarts };
}

const addresses = (state: KubeClusterState, ns: string, svc: string) =>
  state
    .endpointSlices(ns, svc)
    .flatMap((s) => s.endpoints.flatMap((e) => e.addresses))
    .sort();

describe('cluster state: sync and churn', () => {
  test('is unsynced before start and synced after, serving Services and their EndpointSlices', async () => {
    const { state, api } = await setup();
    assert.equal(state.isSynced(), false);
    await state.start();
    assert.equal(state.isSynced(), true);
    assert.equal(state.service('team-a', 'web')?.spec?.ports?.[0]?.targetPort, 8080);
    assert.equal(state.service('team-a', 'nope'), undefined);
    assert.deepEqual(
      state
        .services()
        .map((s) => s.metadata?.name)
        .sort(),
      ['api', 'web'],
    );
    assert.deepEqual(addresses(state, 'team-a', 'web'), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(state.endpointSlices('team-b', 'web'), []);
    assert.equal(api.count({ verb: 'list' }), 2);
    assert.equal(state.stats().endpoints, 2);
  });

  test('an endpoint added and one removed are both reflected', async () => {
    const { state, api } = await setup();
    await state.start();
    const changes: string[] = [];
    state.onEndpointsChange((ns, svc) => changes.push(`${ns}/${svc}`));

    const slice = api.get('endpointslices', 'team-a', 'web-abcde') as ReturnType<typeof endpointSlice>;
    api.upsert({
      ...slice,
      endpoints: [...slice.endpoints, endpointSlice('team-a', 'web', [{ ip: '10.0.0.3' }], []).endpoints[0]],
    });
    await eventually(() =>
      assert.deepEqual(addresses(state, 'team-a', 'web'), ['10.0.0.1', '10.0.0.2', '10.0.0.3']),
    );

    api.upsert({ ...slice, endpoints: slice.endpoints.slice(1) });
    await eventually(() => assert.deepEqual(addresses(state, 'team-a', 'web'), ['10.0.0.2']));
    // How fast: the bench's "traffic shift" row (npm run bench), not a test.
    assert.deepEqual(changes, ['team-a/web', 'team-a/web']);
  });

  test('a new slice, a deleted slice and a deleted Service are followed', async () => {
    const { state, api } = await setup();
    await state.start();
    api.upsert(endpointSlice('team-b', 'api', [{ ip: '10.2.0.1' }], [443]));
    api.remove('endpointslices', 'team-a', 'web-abcde');
    api.remove('services', 'team-b', 'api');
    await eventually(() => {
      assert.deepEqual(addresses(state, 'team-b', 'api'), ['10.2.0.1']);
      assert.deepEqual(state.endpointSlices('team-a', 'web'), []);
      assert.equal(state.service('team-b', 'api'), undefined);
    });
  });

  test('lists in pages when the server has more objects than a page', async () => {
    const { state, api } = await setup({}, { listPageSize: 2 });
    for (let i = 0; i < 5; i++) api.upsert(service('many', `s${i}`, [80]));
    await state.start();
    assert.equal(state.services().length, 7);
    assert.equal(api.count({ verb: 'list', resource: 'services' }), 4);
  });

  test('syncs a few thousand Services and their endpoints in pages', async () => {
    const { state, api } = await setup({
      objects: syntheticCluster({ services: 2000, endpointsPerService: 5 }),
    });
    await state.start();
    assert.equal(state.isSynced(), true);
    assert.deepEqual(
      { services: state.services().length, endpoints: state.stats().endpoints },
      { services: 2000, endpoints: 10_000 },
    );
    assert.equal(addresses(state, 'ns-7', 'svc-1207').length, 5);
    assert.equal(api.count({ verb: 'list', resource: 'endpointslices' }), 4);
  });
});

describe('cluster state: failures converge', () => {
  test('410 Gone on resume (an ERROR event) relists and converges to the server state', async () => {
    const { state, api, restarts } = await setup();
    await state.start();
    await api.stop();
    api.upsert(
      endpointSlice('team-a', 'web', [{ ip: '10.0.0.9' }], [{ name: 'http', port: 8080 }], {
        name: 'web-abcde',
      }),
    );
    api.remove('services', 'team-b', 'api');
    api.compactHistory();
    await api.restart();
    await eventually(() => {
      assert.deepEqual(addresses(state, 'team-a', 'web'), ['10.0.0.9']);
      assert.equal(state.service('team-b', 'api'), undefined);
    });
    assert.equal(api.count({ verb: 'list', resource: 'services' }), 2, 'one initial list and one relist');
    assert.ok(restarts.length > 0);
  });

  test('410 Gone as an HTTP status also relists', async () => {
    const { state, api } = await setup({ goneAs: 'status' });
    await state.start();
    await api.stop();
    api.upsert(service('team-c', 'late', [80]));
    api.compactHistory();
    await api.restart();
    await eventually(() => assert.ok(state.service('team-c', 'late')));
    assert.equal(api.count({ verb: 'list', resource: 'services' }), 2);
  });

  test('a watch cut mid-stream is restarted from its resourceVersion and converges', async () => {
    const { state, api, restarts } = await setup();
    await state.start();
    await eventually(() => api.activeWatches === 2);
    assert.equal(api.cutWatches(), 2);
    api.upsert(endpointSlice('team-a', 'web', [{ ip: '10.0.0.7' }], [8080], { name: 'web-fghij' }));
    await eventually(() =>
      assert.deepEqual(addresses(state, 'team-a', 'web'), ['10.0.0.1', '10.0.0.2', '10.0.0.7']),
    );
    assert.ok(restarts.includes('endpointslices'));
    assert.equal(api.count({ verb: 'list' }), 2, 'resumed without relisting');
    assert.equal(state.isSynced(), true);
  });

  test('a watch the server ends cleanly is resumed without counting as a failure', async () => {
    const { state, api, restarts } = await setup();
    await state.start();
    await eventually(() => api.activeWatches === 2);
    api.closeWatches();
    api.upsert(service('team-c', 'after-close', [80]));
    await eventually(() => assert.ok(state.service('team-c', 'after-close')));
    assert.deepEqual(restarts, []);
  });

  test('errors from the API server on the first list are retried with backoff', async () => {
    const { state, api, restarts } = await setup();
    api.failRequests({ verb: 'list', resource: 'services' }, 500, 2);
    api.failRequests({ verb: 'list', resource: 'endpointslices' }, 403, 1);
    await state.start();
    assert.equal(state.isSynced(), true);
    assert.deepEqual(restarts.sort(), ['endpointslices', 'services', 'services']);
    assert.equal(state.stats().reflectors.services.restarts, 2);
  });

  test('a watch that goes silent (no events, no bookmarks) is restarted', async () => {
    const { state, api } = await setup({ bookmarkIntervalMs: 60_000 }, { watchIdleTimeout: 150 });
    await state.start();
    await eventually(() => api.count({ verb: 'watch', resource: 'services' }) >= 3);
    assert.equal(state.isSynced(), true);
  });
});

describe('cluster state: API server gone', () => {
  test('keeps serving and stays synced within the staleness bound, then resumes without relisting', async () => {
    const clock = new ManualClock();
    const { state, api, restarts } = await setup({}, { staleAfter: 5000, now: clock.now });
    await state.start();
    await api.stop();
    await eventually(() => restarts.includes('endpointslices') && restarts.includes('services'));
    clock.advance(4999);
    assert.equal(state.stats().reflectors.endpointslices.failingForMs, 4999);
    assert.equal(state.isSynced(), true);
    assert.deepEqual(addresses(state, 'team-a', 'web'), ['10.0.0.1', '10.0.0.2']);
    assert.ok(state.service('team-b', 'api'));

    // What changes while it is away arrives when it returns, from the watch history.
    api.upsert(endpointSlice('team-a', 'web', [{ ip: '10.0.0.5' }], [8080], { name: 'web-abcde' }));
    const listsBefore = api.count({ verb: 'list' });
    await api.restart();
    await eventually(() => assert.deepEqual(addresses(state, 'team-a', 'web'), ['10.0.0.5']));
    await eventually(() => api.activeWatches === 2);
    assert.equal(api.count({ verb: 'list' }), listsBefore, 'watches resumed from their resourceVersion');
    // The reflector clears its failure clock once the resumed watch answers, a moment after it is opened.
    await eventually(() => assert.equal(state.stats().reflectors.services.failingForMs, 0));
  });

  test('past the staleness bound it reports unsynced, and synced again once the server is back', async () => {
    const clock = new ManualClock();
    const { state, api, restarts } = await setup({}, { staleAfter: 300, now: clock.now });
    await state.start();
    await api.stop();
    await eventually(() => restarts.includes('endpointslices') && restarts.includes('services'));
    clock.advance(299);
    assert.equal(state.isSynced(), true, 'within the bound');
    clock.advance(1);
    assert.equal(state.isSynced(), false, 'at the bound');
    assert.deepEqual(
      addresses(state, 'team-a', 'web'),
      ['10.0.0.1', '10.0.0.2'],
      'still answers from the cache',
    );
    await api.restart();
    await eventually(() => state.isSynced());
  });
});

describe('cluster state: pods and nodes on demand', () => {
  test('concurrent lookups of one pod make one request; a repeat within the TTL makes none', async () => {
    const clock = new ManualClock();
    const { state, api } = await setup({ latencyMs: 50 }, { podCacheTTL: 300, now: clock.now });
    api.upsert(pod('team-a', 'web-1', '10.0.0.1', [8080]));
    const results = await Promise.all(Array.from({ length: 10 }, () => state.pod('team-a', 'web-1')));
    assert.ok(results.every((p) => p?.status?.podIP === '10.0.0.1'));
    assert.equal(await state.pod('team-a', 'web-1').then((p) => p?.metadata?.name), 'web-1');
    assert.equal(api.count({ verb: 'get', resource: 'pods' }), 1);
    clock.advance(299);
    await state.pod('team-a', 'web-1');
    assert.equal(api.count({ verb: 'get', resource: 'pods' }), 1, 'still within the TTL');
    clock.advance(2);
    await state.pod('team-a', 'web-1');
    assert.equal(api.count({ verb: 'get', resource: 'pods' }), 2, 'looked up again after the TTL');
  });

  test('a missing pod is undefined, and that answer is reused briefly', async () => {
    const clock = new ManualClock();
    const { state, api } = await setup({}, { podCacheTTL: 5000, notFoundTTL: 200, now: clock.now });
    assert.equal(await state.pod('team-a', 'ghost'), undefined);
    assert.equal(await state.pod('team-a', 'ghost'), undefined);
    assert.equal(api.count({ verb: 'get', resource: 'pods' }), 1);
    api.upsert(pod('team-a', 'ghost', '10.0.0.8'));
    assert.equal(await state.pod('team-a', 'ghost'), undefined, 'the answer is reused for notFoundTTL');
    clock.advance(201);
    assert.equal((await state.pod('team-a', 'ghost'))?.status?.podIP, '10.0.0.8');
  });

  test('nodes are looked up by name and cached', async () => {
    const { state, api } = await setup({}, { nodeCacheTTL: 5000 });
    api.upsert(node('node-1', '192.168.1.10', 10250));
    const [a, b] = await Promise.all([state.node('node-1'), state.node('node-1')]);
    assert.equal(a?.status?.addresses?.[0]?.address, '192.168.1.10');
    assert.equal(b?.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10250);
    assert.equal(await state.node('node-2'), undefined);
    assert.equal(api.count({ verb: 'get', resource: 'nodes' }), 2);
  });

  test('while the API server is away, an expired pod is served from the last answer', async () => {
    const clock = new ManualClock();
    const { state, api } = await setup({}, { podCacheTTL: 50, requestTimeout: 1000, now: clock.now });
    api.upsert(pod('team-a', 'web-1', '10.0.0.1', [8080]));
    assert.ok(await state.pod('team-a', 'web-1'));
    await api.stop();
    clock.advance(51);
    assert.equal((await state.pod('team-a', 'web-1'))?.status?.podIP, '10.0.0.1');
    await assert.rejects(state.pod('team-a', 'never-seen'));
    assert.equal(state.stats().pods.stale, 1);
  });
});
