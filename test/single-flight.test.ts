/**
 * One piece of work for many callers at once (token verification, RBAC
 * reviews, session refreshes, on-demand lookups all share this): callers
 * that arrive while it runs get its answer, or its failure; the next caller
 * after it settles starts afresh.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SingleFlight } from '../src/single-flight.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

test('callers arriving while the work runs share it; the next one after it settles starts again', async () => {
  const flights = new SingleFlight<string, number>();
  let started = 0;
  const work = deferred<number>();
  const first = flights.run('k', () => (started++, work.promise));
  const second = flights.run('k', () => (started++, Promise.resolve(-1)));
  assert.equal(flights.joining('k'), first);
  work.resolve(7);
  assert.deepEqual(await Promise.all([first, second]), [7, 7]);
  assert.equal(started, 1);
  assert.equal(flights.size, 0);
  assert.equal(await flights.run('k', () => (started++, Promise.resolve(8))), 8);
  assert.equal(started, 2);
});

test('a failure reaches every caller that shared it and is not remembered', async () => {
  const flights = new SingleFlight<string, number>();
  const work = deferred<number>();
  const a = flights.run('k', () => work.promise);
  const b = flights.run('k', () => Promise.resolve(0));
  work.reject(new Error('down'));
  await assert.rejects(a, /down/);
  await assert.rejects(b, /down/);
  assert.equal(await flights.run('k', () => Promise.resolve(1)), 1);
});

test('past its bound, work starts unshared rather than remembered', async () => {
  const flights = new SingleFlight<string, string>(1);
  const held = deferred<string>();
  void flights.run('a', () => held.promise);
  let started = 0;
  const b1 = flights.run('b', () => (started++, Promise.resolve('b')));
  const b2 = flights.run('b', () => (started++, Promise.resolve('b')));
  assert.deepEqual(await Promise.all([b1, b2]), ['b', 'b']);
  assert.equal(started, 2);
  assert.equal(flights.size, 1);
  held.resolve('a');
});
