import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrMatcher } from '../../src/proxy/cidr-set.js';
import { clientAddress } from '../../src/request/forwarded-for.js';

const trusted = cidrMatcher(['10.0.0.0/8', 'fd00::/8']);

test('an untrusted peer: its own address, whatever it claims', () => {
  assert.deepEqual(clientAddress('198.51.100.4', '203.0.113.7', trusted), {
    ip: '198.51.100.4',
    forwardedFor: '198.51.100.4',
  });
});

test('a trusted peer: the chain kept, the nearest untrusted hop is the client', () => {
  assert.deepEqual(clientAddress('10.0.0.2', '203.0.113.7, 10.1.1.1', trusted), {
    ip: '203.0.113.7',
    forwardedFor: '203.0.113.7, 10.1.1.1, 10.0.0.2',
  });
  // A client cannot push itself further out: the walk stops at the first untrusted hop.
  assert.equal(clientAddress('10.0.0.2', '1.1.1.1, 203.0.113.7', trusted).ip, '203.0.113.7');
  // Several headers are one list.
  assert.equal(clientAddress('10.0.0.2', ['1.1.1.1', '203.0.113.8'], trusted).ip, '203.0.113.8');
});

test('a v4-mapped peer and IPv6 hops', () => {
  assert.equal(clientAddress('::ffff:10.0.0.2', '2001:db8::1', trusted).ip, '2001:db8::1');
  assert.equal(clientAddress('fd00::5', '2001:db8::2, fd00::9', trusted).ip, '2001:db8::2');
});

test('a hop that is not an address ends the walk at the last one that was', () => {
  assert.equal(clientAddress('10.0.0.2', 'unknown', trusted).ip, '10.0.0.2');
  assert.equal(clientAddress('10.0.0.2', 'unknown, 10.0.0.3', trusted).ip, '10.0.0.3');
  assert.equal(clientAddress('10.0.0.2', '', trusted).forwardedFor, '10.0.0.2');
});

test('every hop trusted: the farthest one', () => {
  assert.equal(clientAddress('10.0.0.2', '10.0.0.4, 10.0.0.3', trusted).ip, '10.0.0.4');
});
