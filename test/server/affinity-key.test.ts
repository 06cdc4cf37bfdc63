/**
 * The affinity key the gateway's forwarder uses (server/forwarding.ts) is the balancer's own
 * rule (affinityClientKey): with `affinityKey: user`, anonymous callers still stick by address
 * (they used to share one key, so every anonymous caller landed on one endpoint), and a user
 * named like an address does not share that address's entry.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { RequestContext } from '../../src/request/context.js';
import { affinityKeyFor } from '../../src/server/forwarding.js';

const keyOf = (by: 'client-ip' | 'user') =>
  affinityKeyFor(parseConfig({ kubernetes: 'none', upstream: { loadBalancing: { affinityKey: by } } }));
const call = (ip: string, username?: string) =>
  [
    {} as IncomingMessage,
    {
      client: { ip },
      identity: username === undefined ? undefined : { username, groups: [] },
    } as unknown as RequestContext,
  ] as const;

test('affinityKey user: one user sticks across addresses; anonymous callers each by their address', () => {
  const key = keyOf('user');
  assert.equal(key(...call('10.0.0.1', 'alice')), key(...call('10.0.0.2', 'alice')));
  assert.notEqual(key(...call('10.0.0.1')), key(...call('10.0.0.2')), 'anonymous callers do not share a key');
  assert.notEqual(key(...call('10.0.0.1', '')), key(...call('10.0.0.2', '')));
  assert.notEqual(
    key(...call('10.0.0.9', '10.0.0.1')),
    key(...call('10.0.0.1')),
    'a user named like an address',
  );
});

test('affinityKey client-ip: the address, whoever calls', () => {
  const key = keyOf('client-ip');
  assert.equal(key(...call('10.0.0.1', 'alice')), key(...call('10.0.0.1', 'bob')));
  assert.notEqual(key(...call('10.0.0.1', 'alice')), key(...call('10.0.0.2', 'alice')));
});
