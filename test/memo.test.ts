import assert from 'node:assert/strict';
import test from 'node:test';
import { boundedMemo } from '../src/memo.js';

test('a remembered answer is not computed again, an undefined one included', () => {
  const asked: string[] = [];
  const memo = boundedMemo((key) => (asked.push(key), key === 'none' ? undefined : key.length), 10);
  assert.equal(memo('abc'), 3);
  assert.equal(memo('abc'), 3);
  assert.equal(memo('none'), undefined);
  assert.equal(memo('none'), undefined);
  assert.deepEqual(asked, ['abc', 'none']);
});

test('an answer that throws is asked again every time', () => {
  let calls = 0;
  const memo = boundedMemo((key) => {
    calls++;
    throw new Error(`no ${key}`);
  }, 10);
  assert.throws(() => memo('x'), /no x/);
  assert.throws(() => memo('x'), /no x/);
  assert.equal(calls, 2);
  assert.equal(memo.size(), 0);
});

test('keys chosen by whoever sends them never hold more than the bound', () => {
  const memo = boundedMemo((key) => key, 100);
  for (let i = 0; i < 10_000; i++) memo(`/api/v1/namespaces/n${i}/services/web/proxy/`);
  assert.ok(memo.size() <= 100, `held ${memo.size()}`);
  assert.equal(memo('again'), 'again');
});
