/**
 * `authentication.session.cookieDomain` must cover every host the session is
 * meant for — the gateway's own and every routed host — or sign-in on a host
 * outside it loops forever. The config is refused with the key's path and a
 * sentence naming the host that is outside. The chart's CI values and the
 * docs' examples are held to the same rule.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { hostsOutsideCookieDomain, isUnderDomain } from '../../src/config/cookie-domain.js';

const SECRET = 'a-session-secret-of-at-least-32-characters';

function problems(over: { publicURL?: string; cookieDomain?: string; routing?: object }): string[] {
  try {
    parseConfig({
      publicURL: over.publicURL ?? 'https://bastion.apps.example.com',
      authentication: { session: { secret: SECRET, cookieDomain: over.cookieDomain } },
      routing: over.routing,
    });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

test('a host is under a domain when it is the domain or a subdomain of it', () => {
  const cases: [string, string, boolean][] = [
    ['apps.example.com', 'apps.example.com', true],
    ['web--a.apps.example.com', 'apps.example.com', true],
    ['WEB--A.Apps.Example.com.', '.apps.example.com', true],
    ['grafana.example.com', 'apps.example.com', false],
    ['evilapps.example.com', 'apps.example.com', false],
    ['apps.example.com.evil.test', 'apps.example.com', false],
    ['example.com', 'apps.example.com', false],
    ['anything.example.com', '', false],
  ];
  for (const [host, domain, want] of cases)
    assert.equal(isUnderDomain(host, domain), want, `${host} in ${domain}`);
});

test('a cookieDomain covering publicURL, the suffix and every route is accepted', () => {
  assert.deepEqual(
    problems({
      cookieDomain: 'apps.example.com',
      routing: {
        hostSuffix: 'apps.example.com',
        routes: [{ host: 'grafana.apps.example.com', target: 'monitoring/grafana:http' }],
      },
    }),
    [],
  );
  assert.deepEqual(
    problems({ cookieDomain: 'example.com', routing: { hostSuffix: 'apps.example.com' } }),
    [],
  );
  // Without a cookieDomain the cookie is host-only: nothing to check.
  assert.deepEqual(problems({ routing: { routes: [{ host: 'grafana.other.test', target: 'm/g' }] } }), []);
});

test('a route host outside cookieDomain is refused, named, at the cookieDomain path', () => {
  assert.deepEqual(
    problems({
      cookieDomain: 'apps.example.com',
      routing: {
        hostSuffix: 'apps.example.com',
        routes: [
          { host: 'wiki.apps.example.com', target: 'docs/wiki' },
          { host: 'grafana.example.com', target: 'monitoring/grafana:http' },
        ],
      },
    }),
    [
      'authentication.session.cookieDomain: routing.routes[1].host "grafana.example.com" is not under "apps.example.com", ' +
        'so the session cookie would never reach it; use a cookieDomain that covers every host, or move routing.routes[1].host under "apps.example.com"',
    ],
  );
});

test('publicURL and hostSuffix outside cookieDomain are refused too, each named', () => {
  const found = problems({
    publicURL: 'https://bastion.example.org',
    cookieDomain: 'apps.example.com',
    routing: { hostSuffix: 'apps.example.net' },
  });
  assert.equal(found.length, 2, found.join('\n'));
  assert.match(
    found[0],
    /^authentication\.session\.cookieDomain: publicURL "bastion\.example\.org" is not under/,
  );
  assert.match(
    found[1],
    /^authentication\.session\.cookieDomain: routing\.hostSuffix "apps\.example\.net" is not under/,
  );
});

test('the chart CI values keep every routed host under their cookieDomain', () => {
  const dir = 'helm/kube-bastion/ci';
  let checked = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const values = parse(readFileSync(join(dir, file), 'utf8')) as {
      ingress?: { host?: string };
      config?: {
        publicURL?: string;
        authentication?: { session?: { cookieDomain?: string } };
        routing?: { hostSuffix?: string; routes?: { host: string }[] };
      };
    };
    const domain = values.config?.authentication?.session?.cookieDomain;
    if (!domain) continue;
    checked++;
    // The chart's publicURL: config.publicURL, else https://<ingress.host>.
    const publicURL = values.config?.publicURL ?? `https://${values.ingress?.host}`;
    const routing = values.config?.routing ?? {};
    assert.deepEqual(
      hostsOutsideCookieDomain(domain, {
        publicURL,
        hostSuffix: routing.hostSuffix,
        routes: routing.routes ?? [],
      }),
      [],
      file,
    );
  }
  assert.ok(checked > 0, 'at least one CI values file sets a cookieDomain');
});
