/**
 * Host routing set up so that it cannot work is refused by the config check
 * (what `check-config` prints), each problem with the path of the key to fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';

const SECRET = 'a-session-secret-of-at-least-32-characters';
const OIDC = { issuer: 'https://idp.example.com', clientID: 'kube-bastion' };

function problems(over: ConfigInput): string[] {
  try {
    parseConfig(
      {
        publicURL: 'https://bastion.example.com',
        authentication: { oidc: OIDC, session: { secret: SECRET } },
        ...over,
      },
      { env: {} },
    );
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

const one = (over: ConfigInput, path: string, message: RegExp) => {
  const found = problems(over);
  assert.equal(found.length, 1, found.join('\n'));
  assert.ok(found[0].startsWith(`${path}: `), found[0]);
  assert.match(found[0], message);
};

test('a working host-routing config with sign-in by handoff passes', () => {
  assert.deepEqual(
    problems({
      routing: {
        hostSuffix: 'Apps.Example.com.',
        routes: [
          { host: 'grafana.example.com', target: 'monitoring/grafana' },
          { host: 'docs.example.com', target: 'docs/site:8080' },
        ],
        handoff: { ttl: '45s', hostSessionTTL: '10m' },
      },
    }),
    [],
  );
});

test('routed hosts are bare names: routed hosts use publicURL’s scheme and port', () => {
  for (const suffix of [
    'https://apps.example.com',
    'http://apps.example.com',
    '*.apps.example.com',
    'apps.example.com:8443',
    'apps.example.com/x',
  ])
    one(
      { routing: { hostSuffix: suffix } },
      'routing.hostSuffix',
      /bare host name.*publicURL’s scheme and port/,
    );
  one(
    { routing: { routes: [{ host: 'http://grafana.example.com', target: 'a/b' }] } },
    'routing.routes[0].host',
    /bare host name/,
  );
  one({ routing: { hostSuffix: 'com' } }, 'routing.hostSuffix', /at least two labels/);
});

test('a route may not be listed twice, nor take publicURL’s host, nor name a target that cannot exist', () => {
  one(
    {
      routing: {
        routes: [
          { host: 'grafana.example.com', target: 'a/b' },
          { host: 'Grafana.example.com.', target: 'a/c' },
        ],
      },
    },
    'routing.routes[1].host',
    /listed twice/,
  );
  one(
    { routing: { routes: [{ host: 'BASTION.example.com', target: 'a/b' }] } },
    'routing.routes[0].host',
    /publicURL's host/,
  );
  one(
    { routing: { routes: [{ host: 'a.example.com', target: 'team_a/web' }] } },
    'routing.routes[0].target',
    /namespace\/service/,
  );
});

test('publicURL may not read as a routed host', () => {
  one(
    { publicURL: 'https://portal--ops.apps.example.com', routing: { hostSuffix: 'apps.example.com' } },
    'publicURL',
    /reads as a routed host/,
  );
});

test('handoff lifetimes are bounded', () => {
  one(
    { routing: { hostSuffix: 'apps.example.com', handoff: { ttl: '1s' } } },
    'routing.handoff.ttl',
    /between 5s and 5m/,
  );
  one(
    { routing: { hostSuffix: 'apps.example.com', handoff: { hostSessionTTL: '48h' } } },
    'routing.handoff.hostSessionTTL',
    /between 30s and 24h/,
  );
});

test('browser sign-in on routed hosts needs a session and its secret', () => {
  one(
    { routing: { hostSuffix: 'apps.example.com' }, authentication: { oidc: OIDC } },
    'authentication.session',
    /required when authentication.oidc is set/,
  );
  one(
    { routing: { hostSuffix: 'apps.example.com' }, authentication: { oidc: OIDC, session: {} } },
    'authentication.session.secret',
    /set secret or secretFile/,
  );
});

test('a cookieDomain that misses a routed host is refused there', () => {
  one(
    {
      publicURL: 'https://bastion.apps.example.com',
      routing: { hostSuffix: 'apps.example.com', routes: [{ host: 'grafana.example.com', target: 'a/b' }] },
      authentication: { oidc: OIDC, session: { secret: SECRET, cookieDomain: 'apps.example.com' } },
    },
    'authentication.session.cookieDomain',
    /routing\.routes\[0\]\.host "grafana\.example\.com" is not under "apps\.example\.com"/,
  );
});
