/**
 * An assertion names the one target it was minted for (`aud`), so a backend
 * that receives a visitor's assertion cannot replay it to another backend
 * that verifies its own audience. Service audiences are `<namespace>/<name>`
 * and node audiences `nodes/<name>`: a tenant's Service `node-1` in a
 * namespace called `nodes` (a valid namespace name) received assertions a
 * backend reached through `nodes/node-1/proxy` accepts as minted for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Identity } from '../../src/request/identity.js';
import { assertionAudience, createUpstreamIdentity } from '../../src/upstream-identity/index.js';

const alice: Identity = { username: 'alice', groups: ['devs'], extra: {}, method: 'session' };

test('no two targets share an audience: a Service in namespace "nodes" is not a node', async () => {
  const service = { kind: 'services' as const, namespace: 'nodes', name: 'node-1' };
  const node = { kind: 'nodes' as const, namespace: '', name: 'node-1' };
  const identity = await createUpstreamIdentity(parseConfig({ publicURL: 'https://bastion.example.com/' }), {
    logger: silentLogger(),
  });
  try {
    // What the tenant's Service receives when alice visits it.
    const token = (await identity.headersFor(alice, service))['X-Bastion-Assertion'];
    // A backend behind the node proxy verifies the assertions the gateway mints for it.
    const verified = await jwtVerify(token, createLocalJWKSet(identity.jwks()), {
      issuer: 'https://bastion.example.com',
      audience: assertionAudience(node),
    }).then(
      () => true,
      () => false,
    );
    assert.equal(
      verified,
      false,
      `a Service's assertion verified as one for node "node-1" (aud ${assertionAudience(service)})`,
    );
  } finally {
    identity.close();
  }
});
