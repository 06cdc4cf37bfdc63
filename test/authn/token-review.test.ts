/**
 * ServiceAccount tokens go to the apiserver as TokenReviews; the gateway must
 * not become a way to flood it (issue 15). Against the in-process API server
 * over HTTPS, through the real @kubernetes/client-node, counting the
 * TokenReviews it received: refusals are remembered (bounded, for cacheTTL),
 * at most `maxInFlight` reviews wait at once (the rest get a fast 429), and a
 * review the apiserver does not answer within `timeout` is abandoned with a
 * 503. The gateway's clock is the test's.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { ManualClock } from '../support/manual-clock.js';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';
import { startAuthApp, whoami, type AuthApp } from './helpers.js';

const MAX_IN_FLIGHT = 4;
const TTL_MS = 10_000;
let api: FakeApiServer;
let app: AuthApp;
const clock = new ManualClock();

before(async () => {
  api = await startFakeApiServer({
    tokens: {
      'sa-token-ci': {
        username: 'system:serviceaccount:ci:deployer',
        groups: ['system:serviceaccounts'],
        audiences: ['kube-bastion'],
      },
      'sa-token-odd': { username: 'ci\u0000admin', audiences: ['kube-bastion'] },
    },
  });
  app = await startApp('1s');
});

/** A gateway that reviews ServiceAccount tokens with `api`, giving each review `timeout`. */
const startApp = (timeout: string) =>
  startAuthApp(
    {
      kubernetes: {},
      authentication: {
        serviceAccountTokens: {
          enabled: true,
          audiences: ['kube-bastion'],
          cacheTTL: `${TTL_MS}ms`,
          timeout,
          maxInFlight: MAX_IN_FLIGHT,
        },
      },
    },
    { kubeConfig: api.kubeConfig(), clock },
  );
after(async () => {
  await app?.close();
  await api?.stop();
});
beforeEach(() => {
  api.clearRequests();
  clock.advance(TTL_MS); // nothing cached carries over from the test before
});

const reviews = () => api.count({ resource: 'tokenreviews' });

/**
 * The next request with a good token reaches the API server (the review count becomes `count`)
 * and is answered by it: 200, or — the review deadline being real time — a fresh 503 for that
 * deadline on a machine too loaded to answer within 1 s. Never a 429 or a remembered answer.
 */
async function assertAskedAgain(count: number, message: string, gateway = app): Promise<void> {
  const r = await whoami(gateway.url, 'Bearer sa-token-ci');
  assert.equal(reviews(), count, message);
  if (r.status !== 200) {
    assert.equal(r.status, 503, `${message}: ${r.text}`);
    assert.match(String(r.body.message), /did not answer the TokenReview within 1000 ms/, message);
  }
}
let junk = 0;
const junkToken = () => `Bearer junk-${junk++}`;

describe('answers are remembered', () => {
  test('a refused token costs one TokenReview until cacheTTL has passed', async () => {
    const token = junkToken();
    for (let i = 0; i < 5; i++) assert.equal((await whoami(app.url, token)).status, 401);
    assert.equal(reviews(), 1);
    clock.advance(TTL_MS);
    assert.equal((await whoami(app.url, token)).status, 401);
    assert.equal(reviews(), 2);
  });

  test('so is an accepted one, with system:authenticated as the apiserver sent it (once)', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await whoami(app.url, 'Bearer sa-token-ci');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.groups, ['system:serviceaccounts', 'system:authenticated']);
    }
    assert.equal(reviews(), 1);
  });

  test('a name the cluster vouches for still may not carry control characters', async () => {
    const r = await whoami(app.url, 'Bearer sa-token-odd');
    assert.equal(r.status, 401);
    assert.match(String(r.body.message), /control character/);
  });
});

describe('a flood of junk tokens', () => {
  // Its own gateway, whose reviews wait far longer than the test: the four held ones can only end when
  // the apiserver lets them go, however slow the machine (a 1 s deadline once let one end first, as 503).
  let patient: AuthApp;
  before(async () => {
    patient = await startApp('120s');
  });
  after(() => patient?.close());

  test(`reaches the apiserver ${MAX_IN_FLIGHT} at a time; the rest get a 429 at once`, async () => {
    const hold = api.hold({ resource: 'tokenreviews' });
    try {
      const pending = Array.from({ length: 50 }, () => whoami(patient.url, junkToken()));
      const settled: number[] = [];
      for (const p of pending) void p.then((r) => settled.push(r.status));
      // 46 are answered while the apiserver still holds the first four.
      await eventually(() => settled.length === 50 - MAX_IN_FLIGHT, 60_000);
      assert.deepEqual(new Set(settled), new Set([429]));
      await eventually(() => hold.waiting() === MAX_IN_FLIGHT, 10_000);
      assert.equal(reviews(), MAX_IN_FLIGHT);
      hold.release();
      const all = await Promise.all(pending);
      assert.equal(all.filter((r) => r.status === 401).length, MAX_IN_FLIGHT, 'refused by the apiserver');
      const tooMany = all.find((r) => r.status === 429)!;
      assert.equal(tooMany.body.reason, 'TooManyRequests');
    } finally {
      hold.release();
    }
    await assertAskedAgain(MAX_IN_FLIGHT + 1, 'the slots are free again', patient);
  });
});

describe('a stalled apiserver', () => {
  test('a review gets no more than the timeout: 503, the request abandoned, nothing cached', async () => {
    const hold = api.hold({ resource: 'tokenreviews' });
    const r = await whoami(app.url, 'Bearer sa-token-ci');
    assert.equal(r.status, 503, r.text);
    assert.match(String(r.body.message), /did not answer the TokenReview within 1000 ms/);
    await eventually(() => hold.waiting() === 0, 10_000); // the client went away: no socket left waiting
    hold.release();
    await assertAskedAgain(2, 'asked again, not a cached 503');
  });

  test('junk meanwhile never holds more than maxInFlight requests open', async () => {
    const hold = api.hold({ resource: 'tokenreviews' });
    const statuses = (await Promise.all(Array.from({ length: 30 }, () => whoami(app.url, junkToken())))).map(
      (r) => r.status,
    );
    hold.release();
    // At once, not in all: the deadline is real time, and on a machine too loaded to hand the gateway 30
    // requests within 1 s a slot freed by a timed-out review is rightly taken by a later one.
    assert.ok(hold.most() >= 1, 'the apiserver was asked');
    assert.ok(hold.most() <= MAX_IN_FLIGHT, `${hold.most()} TokenReviews were held at once`);
    assert.equal(statuses.filter((s) => s === 503).length, reviews(), 'only those that reached it timed out');
    assert.equal(statuses.filter((s) => s === 429 || s === 503).length, 30, 'the rest were refused at once');
  });
});
