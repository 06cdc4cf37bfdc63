import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Identity } from '../../src/request/identity.js';
import { parseConfig } from '../../src/config/load.js';
import {
  encodeGroup,
  groupsHeaderValue,
  identityHeaders,
  isReservedHeader,
  reservedHeaderMatcher,
} from '../../src/upstream-identity/index.js';

const alice: Identity = {
  username: 'alice@example.com',
  groups: ['devs', 'oidc:platform'],
  email: 'alice@example.com',
  extra: {},
  method: 'session',
};

test('identity headers carry user, comma-joined groups and email under the configured names', () => {
  const defaults = parseConfig({}).upstream.identityHeaders;
  assert.deepEqual(identityHeaders(alice, defaults), {
    'X-Forwarded-User': 'alice@example.com',
    'X-Forwarded-Groups': 'devs,oidc:platform',
    'X-Forwarded-Email': 'alice@example.com',
  });
  const custom = parseConfig({
    upstream: { identityHeaders: { user: 'X-Auth-User', groups: 'X-Auth-Groups' } },
  }).upstream.identityHeaders;
  assert.deepEqual(identityHeaders({ ...alice, groups: [], email: undefined }, custom), {
    'X-Auth-User': 'alice@example.com',
  });
  const off = parseConfig({ upstream: { identityHeaders: { enabled: false } } }).upstream.identityHeaders;
  assert.deepEqual(identityHeaders(alice, off), {});
});

test('names that no HTTP header can hold are sent as UTF-8 bytes without control characters', () => {
  const defaults = parseConfig({}).upstream.identityHeaders;
  const h = identityHeaders({ ...alice, username: 'José 李\r\nX-Injected: 1', groups: [] }, defaults);
  const value = h['X-Forwarded-User'];
  assert.equal(Buffer.from(value, 'latin1').toString('utf8'), 'José 李X-Injected: 1');
  assert.doesNotMatch(value, /[\r\n]/);
});

test('X-Forwarded-Groups: split on commas and percent-decode, and you have exactly the groups', () => {
  const groups = ['devs', 'x,system:masters', '100%', '%2C', 'cn=ops,ou=g,dc=example', 'équipe'];
  const value = groupsHeaderValue(groups);
  assert.equal(value.split(',').length, groups.length, 'one element per group');
  assert.deepEqual(Buffer.from(value, 'latin1').toString('utf8').split(',').map(decodeURIComponent), groups);
  assert.equal(encodeGroup('oidc:platform'), 'oidc:platform', 'ordinary names are untouched');
});

test('client copies of identity headers are reserved in every case and _/- spelling', () => {
  const reserved = [
    'X-Forwarded-User',
    'x-forwarded-user',
    'X_Forwarded_User',
    'x-forwarded_groups',
    'X-FORWARDED-EMAIL',
    'X-Bastion-Assertion',
    'x_bastion_assertion',
    'X-Remote-User',
    'X-Remote-Group',
    'x_remote_extra_scopes',
    'X-Remote-Extra-Foo',
    'Impersonate-User',
    'impersonate_group',
    'Impersonate-Extra-Scopes',
    'Impersonate-Uid',
    'X-Auth-Request-Email',
    'X-Forwarded-Preferred-Username',
  ];
  for (const name of reserved) assert.equal(isReservedHeader(name), true, name);
  for (const name of ['Accept', 'X-Forwarded-Userx', 'X-User', 'Cookie', 'X-Request-Id']) {
    assert.equal(isReservedHeader(name), false, name);
  }
});

test('custom header names are reserved too, and the defaults stay reserved (NCC-E003660-YVU)', () => {
  const upstream = parseConfig({
    upstream: {
      identityHeaders: { user: 'X-Auth-User', email: 'Remote-Email' },
      assertion: { header: 'X-Identity-JWT' },
    },
  }).upstream;
  const reserved = reservedHeaderMatcher(upstream);
  for (const name of [
    'X-Auth-User',
    'x_auth_user',
    'REMOTE_EMAIL',
    'x-identity-jwt',
    'X-Forwarded-User',
    'X-Bastion-Assertion',
  ]) {
    assert.equal(reserved(name), true, name);
  }
  assert.equal(reserved('X-Auth-Token'), false);
});
