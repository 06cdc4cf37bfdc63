import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryBudget, shouldRetry, type RetryQuestion } from '../../../src/proxy/balancer/index.js';
import { endpoint, picker, service, Clock } from './fixtures.js';

const refused: RetryQuestion = {
  method: 'GET',
  requestWritten: false,
  bodyStarted: false,
  errorCode: 'ECONNREFUSED',
  attempt: 1,
  retries: 2,
};

test('connection failures are retried for any method whose body is not on the wire yet', () => {
  for (const errorCode of [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EPIPE',
  ]) {
    assert.equal(shouldRetry({ ...refused, errorCode }), true, errorCode);
  }
  assert.equal(shouldRetry({ ...refused, method: 'POST' }), true, 'POST without body sent');
});

test('once the body is streaming, only idempotent methods are retried', () => {
  const streaming = { ...refused, errorCode: 'ECONNRESET', requestWritten: true, bodyStarted: true };
  for (const method of ['PUT', 'DELETE', 'get', 'OPTIONS'])
    assert.equal(shouldRetry({ ...streaming, method }), true, method);
  for (const method of ['POST', 'PATCH']) assert.equal(shouldRetry({ ...streaming, method }), false, method);
  assert.equal(shouldRetry({ ...streaming, method: 'PUT', bodyReplayable: false }), false, 'no copy kept');
});

test('a reset after the request went out is retried only for idempotent methods, even without a body', () => {
  const resetAfterWrite = { ...refused, errorCode: 'ECONNRESET', requestWritten: true };
  for (const method of ['POST', 'PATCH'])
    assert.equal(
      shouldRetry({ ...resetAfterWrite, method }),
      false,
      `${method}: the upstream may have acted`,
    );
  for (const method of ['GET', 'DELETE'])
    assert.equal(shouldRetry({ ...resetAfterWrite, method }), true, method);
  // A pooled connection the upstream had closed before our write: nothing went out, retried.
  for (const errorCode of ['ECONNRESET', 'EPIPE'])
    assert.equal(shouldRetry({ ...refused, method: 'POST', errorCode }), true, errorCode);
});

test('errors where the upstream may have acted are never retried', () => {
  assert.equal(shouldRetry({ ...refused, errorCode: undefined }), false);
  assert.equal(shouldRetry({ ...refused, errorCode: 'ERR_RESPONSE_TIMEOUT' }), false);
});

test('retries stop after the configured number', () => {
  assert.equal(shouldRetry({ ...refused, attempt: 2, retries: 2 }), true, 'second retry');
  assert.equal(shouldRetry({ ...refused, attempt: 3, retries: 2 }), false);
  assert.equal(shouldRetry({ ...refused, attempt: 1, retries: 0 }), false);
});

test('the retry budget caps retries at a share of recent requests, above a small floor', () => {
  const clock = new Clock();
  const budget = new RetryBudget({ percent: 20, minRetriesPerSecond: 1, windowMs: 10_000, now: clock.now });
  // Quiet service: the floor (10 per 10 s window) still allows the occasional retry.
  let allowed = 0;
  for (let i = 0; i < 50; i++) if (budget.tryRetry()) allowed++;
  assert.equal(allowed, 10);

  // An outage under load: 1000 requests, each wanting a retry; 10 + 20 % of 1000 = 210 get one.
  clock.advance(10_000);
  allowed = 0;
  for (let i = 0; i < 1000; i++) {
    budget.recordRequest();
    if (budget.tryRetry()) allowed++;
  }
  assert.ok(allowed >= 200 && allowed <= 210, `allowed ${allowed}`);
  assert.equal(budget.tryRetry(), false, 'exhausted');

  // The window slides: ten seconds later the budget is back to its floor.
  clock.advance(10_000);
  assert.equal(budget.tryRetry(), true);
});

test('each target has its own budget', () => {
  const clock = new Clock();
  const p = picker(clock, { retryBudgetPercent: 0 });
  const a = service([endpoint('10.0.0.1')], { key: 'services/ns/a:http' });
  const b = service([endpoint('10.0.0.2')], { key: 'services/ns/b:http' });
  assert.equal(p.retryBudget(a), p.retryBudget(a));
  while (p.retryBudget(a).tryRetry());
  assert.equal(p.retryBudget(b).tryRetry(), true, 'b is not affected by a');
});
