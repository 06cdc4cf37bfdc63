/**
 * How often `login --device` asks the gateway (RFC 8628 §3.2, §3.5): what the
 * gateway sent, 5 s when it sent nothing usable — a missing interval made the
 * CLI poll in a tight loop — and never faster than once a second.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pollIntervalMs } from '../../src/client/device-login.js';

test('the gateway’s interval is kept when it is sensible', () => {
  assert.equal(pollIntervalMs(5), 5000);
  assert.equal(pollIntervalMs(2), 2000);
});

test('no interval, or one that is not a number, means the RFC’s 5 s, not a tight loop', () => {
  for (const sent of [undefined, null, '5', Number.NaN, Number.POSITIVE_INFINITY, {}])
    assert.equal(pollIntervalMs(sent), 5000, `for ${JSON.stringify(sent)}`);
});

test('a hostile gateway can neither make the CLI hammer it nor wait for ever', () => {
  assert.equal(pollIntervalMs(0), 1000);
  assert.equal(pollIntervalMs(-3), 1000);
  assert.equal(pollIntervalMs(1e9), 60_000);
});
