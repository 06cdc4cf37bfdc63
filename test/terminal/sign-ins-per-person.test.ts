/**
 * How many terminal sign-ins one person holds at once, in each of the three
 * stores as two replicas use them (two store instances over one real
 * backend: a redis-server, the in-process API server): past the bound the
 * oldest sign-in ends as a logout would — its refresh token gets the message
 * to log in again, its access tokens are refused, its connections close —
 * and nobody else's sign-ins move. The person's record is a digest, inside
 * the store's own names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { AccessTokens } from '../../src/authn/terminal/access-token.js';
import { TerminalBearer } from '../../src/authn/terminal/bearer.js';
import { TokenFamilies } from '../../src/authn/terminal/families.js';
import type { TerminalIdentity, TokenResponse } from '../../src/authn/terminal/protocol.js';
import { personId, refreshTokenFamily } from '../../src/authn/terminal/secrets.js';
import { MAX_SIGN_INS_PER_PERSON as MAX } from '../../src/authn/terminal/sign-ins-per-person.js';
import type { RecordStore } from '../../src/authn/terminal/store/record-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { NAMESPACE, storeBackends } from './store-backends.js';

const HOUR = 3600_000;
const clock = new ManualClock();
const stores = storeBackends(clock);

before(() => stores.start());
after(() => stores.stop());

/** A gateway replica's view of terminal sign-ins over `store`. */
function replica(store: RecordStore) {
  const tokens = new AccessTokens(
    ['a-per-person-test-session-secret-of-32+chars'],
    new URL('https://gw.test'),
    clock.now,
  );
  const families = new TokenFamilies(
    store,
    tokens,
    { accessTokenTTL: HOUR, idleTimeout: 0 },
    clock.now,
    silentLogger(),
  );
  return { store, tokens, families, bearer: new TerminalBearer(tokens, families, clock.now, 10_000) };
}
type Replica = ReturnType<typeof replica>;

let people = 0;
/** A person no other test has seen (the clock and the backends are shared). */
const person = (): TerminalIdentity => ({ username: `person-${++people}@example.com`, groups: ['devs'] });

const signIn = (r: Replica, who: TerminalIdentity, hours = 12) =>
  r.families.start(who, clock.now() + hours * HOUR, 'loopback', 'laptop');

async function signIns(r: Replica, who: TerminalIdentity, n: number, hours = 12): Promise<TokenResponse[]> {
  const all: TokenResponse[] = [];
  for (let i = 0; i < n; i++) all.push(await signIn(r, who, hours));
  return all;
}

const familyOf = (t: TokenResponse) => refreshTokenFamily(t.refresh_token)!;

/** Whether a sign-in is still in the store (a current read, on any replica). */
const alive = async (r: Replica, t: TokenResponse) =>
  (await r.store.get('family', familyOf(t))) !== undefined;

const count = async (r: Replica, all: TokenResponse[]) =>
  (await Promise.all(all.map((t) => alive(r, t)))).filter(Boolean).length;

for (const [name, backend] of stores.backends) {
  describe(`${name} store`, () => {
    test(`a person holds ${MAX} sign-ins; the next ends the oldest as a logout would, and nobody else's`, async () => {
      const [store] = await backend();
      const r = replica(store);
      const alice = person();
      const bob = person();
      const bobs = await signIns(r, bob, 2);
      const first = await signIns(r, alice, MAX);
      const live = bobs[0].access_token;
      // Alice's connection opened with her oldest sign-in's token.
      const connection = r.bearer.liveness(first[0].access_token);
      assert.equal((await connection.check()).alive, true);

      const newest = await signIn(r, alice);
      await assert.rejects(r.families.refresh(first[0].refresh_token), (err: Error) => {
        assert.match(err.message, new RegExp(`ended by ${MAX} newer ones.*run \`kube-bastion login\` again`));
        return true;
      });
      await assert.rejects(r.bearer.authenticate(first[0].access_token), /revoked or has ended/);
      assert.deepEqual(await connection.check(), { alive: false, reason: 'terminal sign-in ended' });
      // The other twenty, the newest among them, still work; so do both of Bob's.
      assert.equal(await count(r, [...first.slice(1), newest]), MAX);
      assert.equal((await r.bearer.authenticate(newest.access_token)).username, alice.username);
      assert.equal((await r.families.refresh(first[1].refresh_token)).identity.username, alice.username);
      assert.equal(await count(r, bobs), 2);
      assert.equal((await r.bearer.authenticate(live)).username, bob.username);
    });

    test('logging out frees a place: the oldest sign-in then stays', async () => {
      const [a, b] = await backend();
      const [one, two] = [replica(a), replica(b)];
      const carol = person();
      const all = await signIns(one, carol, MAX);
      // Logged out on the other replica (a refresh token, as `kube-bastion logout` sends).
      await two.families.revoke(familyOf(all[MAX - 1]), 'logout');
      await signIn(two, carol);
      assert.equal(await alive(one, all[0]), true, 'the oldest is not ended: there was room');
      await signIn(one, carol);
      assert.equal(await alive(one, all[0]), false, 'now there is none');
    });

    test('sign-ins past their end leave the list and make room', async () => {
      const [store] = await backend();
      const r = replica(store);
      const dave = person();
      const long = await signIns(r, dave, MAX / 2, 12);
      const short = await signIns(r, dave, MAX / 2, 1);
      clock.advance(HOUR + 1);
      assert.equal(await count(r, short), 0);
      const later = await signIns(r, dave, MAX / 2);
      assert.equal(await count(r, [...long, ...later]), MAX, 'only ended sign-ins made room');
    });

    test('sign-ins started at once on two replicas stay within the bound', async () => {
      const [a, b] = await backend();
      const pair = [replica(a), replica(b)];
      const erin = person();
      const old = await signIns(pair[0], erin, MAX);
      const attempts = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => signIn(pair[i % 2], erin)),
      );
      const started = attempts.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      // Racing herself, a person may be told to try again (a 503); never given more than the bound.
      for (const s of attempts)
        if (s.status === 'rejected') assert.match(String(s.reason), /changed under each of/);
      assert.ok(started.length > 0);
      assert.equal(await count(pair[0], started), started.length, 'each new sign-in works');
      assert.equal(await count(pair[1], old), MAX - started.length, 'as many of the oldest ended');
    });
  });
}

describe('where the person record lives', () => {
  test('Kubernetes: a labelled Secret named by a digest of the user name', async () => {
    const store = await stores.kubernetesStore();
    const frank = person();
    await signIn(replica(store), frank);
    const id = personId(frank.username);
    assert.match(id, /^[0-9a-f]{64}$/);
    const secret = stores.api.get('secrets', NAMESPACE, `kb-cli-person-${id}`);
    assert.equal(secret?.metadata?.labels?.['kube-bastion.io/cli-state'], 'person');
    const record = (secret as { data: { record: string } }).data.record;
    const stored = Buffer.from(record, 'base64').toString();
    assert.deepEqual(Object.keys(JSON.parse(stored).v), ['signIns']);
    assert.ok(!stored.includes(frank.username), 'the list holds sign-in ids and ends, not the name');
  });

  test('Redis: a key under the store’s prefix, named by the digest', async () => {
    const store = await stores.redisStore();
    const grace = person();
    await signIn(replica(store), grace);
    const client = new Redis(stores.redis.url);
    try {
      const keys = await client.keys('*');
      assert.ok(keys.includes(`kube-bastion:cli:person:${personId(grace.username)}`), keys.join(' '));
      for (const key of keys) assert.match(key, /^kube-bastion:cli:(family|person):[0-9a-f]+$/);
    } finally {
      client.disconnect();
    }
  });
});
