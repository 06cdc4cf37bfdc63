/**
 * The three stores of terminal sign-in state, held to one contract, each as
 * two replicas would use it (two store instances over the same backend):
 * create-if-absent (an expired record is absent, even while the backend
 * still holds it), compare-and-replace, take once among concurrent takers,
 * expiry on the injected clock, and a change on one replica seen by the
 * other within the store's lag. Then what only the Kubernetes store has to
 * get right: the Secrets it writes, failing closed when it loses its watch
 * of the API server, and sweeping expired records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { StoreUnavailableError } from '../../src/authn/terminal/store/record-store.js';
import { eventually } from '../support/eventually.js';
import { ManualClock } from '../support/manual-clock.js';
import { NAMESPACE, storeBackends } from './store-backends.js';

const clock = new ManualClock();
const stores = storeBackends(clock);
const { backends, kubernetesStore, redisStore } = stores;

before(() => stores.start());
after(() => stores.stop());

let n = 0;
const id = () => `${(++n).toString(16).padStart(8, '0')}${'0'.repeat(24)}`;

for (const [name, replicas] of backends) {
  describe(`${name} store`, () => {
    test('create once; replace only over the version read; a change on one replica is seen on the other', async () => {
      const [a, b] = await replicas();
      const key = id();
      const end = clock.now() + 60_000;
      assert.equal(await a.create('family', key, { gen: 1 }, end), true);
      assert.equal(await b.create('family', key, { gen: 99 }, end), false, 'the id is taken');
      const read = await b.get<{ gen: number }>('family', key);
      assert.deepEqual(read?.value, { gen: 1 });
      assert.equal(await a.replace('family', key, { gen: 2 }, end, read.version), true);
      assert.equal(await b.replace('family', key, { gen: 3 }, end, read.version), false, 'stale version');
      assert.deepEqual((await b.get('family', key))?.value, { gen: 2 });
      assert.equal(await b.expiry('family', key), end);
      await a.delete('family', key);
      await eventually(
        async () => {
          clock.advance(b.lagMs > 0 ? Math.min(b.lagMs, 1000) : 0);
          return (await b.expiry('family', key)) === undefined;
        },
        5_000,
        20,
      );
    });

    test('of many concurrent takers exactly one gets the record', async () => {
      const [a, b] = await replicas();
      const key = id();
      await a.create('code', key, { secret: 'x' }, clock.now() + 60_000);
      const got = await Promise.all([a, b, a, b, a, b, a, b].map((s) => s.take('code', key)));
      assert.deepEqual(got.filter(Boolean), [{ secret: 'x' }]);
      assert.equal(await a.get('code', key), undefined);
    });

    test('a record past its expiry can be made again, while the backend still holds it', async () => {
      const [a, b] = await replicas();
      const key = id();
      await a.create('person', key, { gen: 1 }, clock.now() + 1000);
      // The manual clock moves; Redis's own expiry and the Kubernetes sweep have not run.
      clock.advance(1001);
      assert.equal(await b.create('person', key, { gen: 2 }, clock.now() + 60_000), true);
      assert.deepEqual((await a.get('person', key))?.value, { gen: 2 });
      assert.equal(
        await a.create('person', key, { gen: 3 }, clock.now() + 60_000),
        false,
        'a live one stays',
      );
    });

    test('an expired record reads as absent everywhere', async () => {
      const [a, b] = await replicas();
      const key = id();
      await a.create('device', key, { status: 'pending' }, clock.now() + 1000);
      clock.advance(1001);
      assert.equal(await b.get('device', key), undefined);
      assert.equal(await b.take('device', key), undefined);
      assert.equal(await b.expiry('device', key), undefined);
    });
  });
}

describe('kubernetes store', () => {
  test('writes labelled Secrets of its own type, with only what it was given', async () => {
    const store = await kubernetesStore();
    const key = id();
    await store.create('usercode', key, { device: 'abc' }, clock.now() + 60_000);
    const secret = stores.api.get('secrets', NAMESPACE, `kb-cli-usercode-${key}`) as V1Secret;
    assert.equal(secret.type, 'kube-bastion.io/cli-state');
    assert.equal(secret.metadata?.labels?.['kube-bastion.io/cli-state'], 'usercode');
    assert.equal(secret.metadata?.labels?.['app.kubernetes.io/managed-by'], 'kube-bastion');
    assert.deepEqual(Object.keys(secret.data ?? {}), ['record']);
    assert.deepEqual(JSON.parse(Buffer.from(secret.data!.record, 'base64').toString()).v, { device: 'abc' });
  });

  test('without its watch for half the staleness bound it refuses to answer, and recovers', async () => {
    const store = await kubernetesStore(10_000);
    const key = id();
    await store.create('family', key, {}, clock.now() + 3600_000);
    await stores.api.stop();
    // The broken watch is noticed on the next restart; the bound counts on the gateway's clock.
    await eventually(
      async () => {
        clock.advance(5_001);
        await assert.rejects(store.expiry('family', key), StoreUnavailableError);
      },
      10_000,
      50,
    );
    await stores.api.restart();
    await eventually(async () => assert.ok((await store.expiry('family', key)) !== undefined), 20_000, 50);
  });

  test('the sweep deletes expired records', async () => {
    const store = await kubernetesStore();
    const key = id();
    await store.create('code', key, {}, clock.now() + 1000);
    clock.advance(1001);
    await store.sweep();
    assert.equal(stores.api.get('secrets', NAMESPACE, `kb-cli-code-${key}`), undefined);
  });
});

describe('redis store', () => {
  test('a Redis that stops answering is unavailability (503), not an answer', async () => {
    const store = await redisStore();
    stores.redis.pause();
    try {
      await assert.rejects(store.get('family', id()), StoreUnavailableError);
    } finally {
      stores.redis.resume();
    }
  });
});
