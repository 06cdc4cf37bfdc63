/**
 * The shared response-head deadlines: each waiter expires at its own deadline and not before,
 * one that got its head never expires, and however many wait, one timer is armed.
 * (The gateway-level behaviour, a 504 from a silent backend, is in test/security/resources.test.ts
 * and test/faults/endpoints.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadDeadlines, type HeadDeadlineClock, type HeadWaiter } from '../../src/proxy/head-deadlines.js';

/** A clock the test moves by hand; scheduled callbacks run when their time comes. */
function manualClock() {
  let t = 1000;
  let timers: { at: number; fire: () => void; live: boolean }[] = [];
  const clock: HeadDeadlineClock & { advance(ms: number): void; armed(): number } = {
    now: () => t,
    schedule(fire, ms) {
      const timer = { at: t + ms, fire, live: true };
      timers.push(timer);
      return () => (timer.live = false);
    },
    advance(ms) {
      const end = t + ms;
      for (;;) {
        const due = timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        t = due.at;
        due.live = false;
        due.fire();
      }
      t = end;
      timers = timers.filter((x) => x.live);
    },
    armed: () => timers.filter((x) => x.live).length,
  };
  return clock;
}

function waiter(name: string, expired: string[], onExpire?: () => void): HeadWaiter {
  return {
    headDeadline: 0,
    headPrev: null,
    headNext: null,
    headWaiting: false,
    headExpired() {
      expired.push(name);
      onExpire?.();
    },
  };
}

test('a waiter expires at its deadline, not a moment before', () => {
  const clock = manualClock();
  const d = new HeadDeadlines(300, clock);
  const expired: string[] = [];
  d.start(waiter('a', expired));
  clock.advance(299);
  assert.deepEqual(expired, []);
  clock.advance(1);
  assert.deepEqual(expired, ['a']);
  assert.equal(d.size, 0);
});

test('a waiter that got its head never expires; the next one expires at its own deadline', () => {
  const clock = manualClock();
  const d = new HeadDeadlines(300, clock);
  const expired: string[] = [];
  const a = waiter('a', expired);
  const b = waiter('b', expired);
  d.start(a);
  clock.advance(100);
  d.start(b); // due at 400 from the first start
  clock.advance(50);
  d.stop(a);
  d.stop(a); // twice: harmless
  clock.advance(150); // a's old deadline passes
  assert.deepEqual(expired, []);
  clock.advance(99);
  assert.deepEqual(expired, []);
  clock.advance(1);
  assert.deepEqual(expired, ['b']);
});

test('a waiter stopped from the middle of the list leaves the others in order', () => {
  const clock = manualClock();
  const d = new HeadDeadlines(100, clock);
  const expired: string[] = [];
  const ws = ['a', 'b', 'c', 'd'].map((n) => waiter(n, expired));
  for (const w of ws) {
    d.start(w);
    clock.advance(10);
  }
  d.stop(ws[1]);
  d.stop(ws[3]);
  assert.equal(d.size, 2);
  clock.advance(200);
  assert.deepEqual(expired, ['a', 'c']);
});

test('starting again (an interim 1xx answer) gives the waiter a whole new deadline', () => {
  const clock = manualClock();
  const d = new HeadDeadlines(300, clock);
  const expired: string[] = [];
  const a = waiter('a', expired);
  d.start(a);
  clock.advance(250);
  d.start(a);
  assert.equal(d.size, 1);
  clock.advance(299);
  assert.deepEqual(expired, []);
  clock.advance(1);
  assert.deepEqual(expired, ['a']);
});

test('a thousand waiters, one timer', () => {
  const clock = manualClock();
  const d = new HeadDeadlines(300, clock);
  const expired: string[] = [];
  const ws = Array.from({ length: 1000 }, (_, i) => waiter(String(i), expired));
  for (const w of ws) d.start(w);
  assert.equal(clock.armed(), 1);
  for (const w of ws.slice(0, 999)) d.stop(w);
  clock.advance(300);
  assert.deepEqual(expired, ['999']);
  assert.equal(clock.armed(), 0);
});

test('an expiry that starts another waiter arms no second timer, and that waiter gets its full time', () => {
  const clock = manualClock();
  const d = new HeadDeadlines(300, clock);
  const expired: string[] = [];
  const b = waiter('b', expired);
  d.start(waiter('a', expired, () => d.start(b)));
  clock.advance(300);
  assert.deepEqual(expired, ['a']);
  assert.equal(clock.armed(), 1);
  clock.advance(299);
  assert.deepEqual(expired, ['a']);
  clock.advance(1);
  assert.deepEqual(expired, ['a', 'b']);
});

test('a zero timeout is no deadline; after close nothing expires', () => {
  const clock = manualClock();
  const expired: string[] = [];
  const off = new HeadDeadlines(0, clock);
  off.start(waiter('a', expired));
  assert.equal(off.size, 0);
  assert.equal(clock.armed(), 0);
  const d = new HeadDeadlines(300, clock);
  d.start(waiter('b', expired));
  d.close();
  clock.advance(1000);
  assert.deepEqual(expired, []);
});
