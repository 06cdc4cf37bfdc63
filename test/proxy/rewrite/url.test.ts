import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteLocation, rewriteURL, type RewriteContext } from '../../../src/proxy/rewrite/index.js';
import { isUnderPrefix } from '../../../src/proxy/rewrite/url.js';

const P = '/api/v1/namespaces/ns/services/web:http/proxy';
const ctx: RewriteContext = { prefix: P, upstreamHost: '10.0.0.7:8080', requestHost: 'bastion.example.com' };

test('Location values follow the apiserver rewriteURL rules, with its prefix check made segment-aware', () => {
  const cases: [string, string, string][] = [
    ['path-absolute gets the prefix', '/login', `${P}/login`],
    ['root', '/', `${P}/`],
    ['query and fragment are kept as sent', '/a/b?x=1&y=%2F#top', `${P}/a/b?x=1&y=%2F#top`],
    ['trailing slash kept', '/dir/', `${P}/dir/`],
    ['upstream host:port becomes path-only', 'http://10.0.0.7:8080/x?q=1', `${P}/x?q=1`],
    ['upstream host with https scheme too', 'https://10.0.0.7:8080/x', `${P}/x`],
    ['upstream origin with no path is its root', 'http://10.0.0.7:8080', `${P}/`],
    ['the request Host becomes path-only (no scheme downgrade)', 'http://bastion.example.com/x', `${P}/x`],
    ['request Host with the default port of its scheme', 'https://bastion.example.com:443/x', `${P}/x`],
    ['host comparison ignores case', 'HTTP://Bastion.Example.COM/x', `${P}/x`],
    ['userinfo does not hide the host', 'http://u:p@10.0.0.7:8080/x', `${P}/x`],
    ['protocol-relative to the upstream', '//10.0.0.7:8080/x', `${P}/x`],
    ['foreign host untouched', 'http://other.example.com/x', 'http://other.example.com/x'],
    ['same IP, other port is foreign', 'http://10.0.0.7:9090/x', 'http://10.0.0.7:9090/x'],
    ['foreign protocol-relative untouched', '//cdn.example.com/lib.js', '//cdn.example.com/lib.js'],
    ['relative untouched', 'next/page', 'next/page'],
    ['dot-relative untouched', '../up', '../up'],
    ['fragment only untouched', '#frag', '#frag'],
    ['query only untouched', '?page=2', '?page=2'],
    ['mailto untouched', 'mailto:ops@example.com', 'mailto:ops@example.com'],
    ['javascript: untouched', 'javascript:void(0)', 'javascript:void(0)'],
    ['already prefixed: not twice', `${P}/x`, `${P}/x`],
    ['exactly the prefix: not twice', P, P],
    [
      'already prefixed, escaped differently',
      '/api/v1/namespaces/ns/services/web%3Ahttp/proxy/x',
      '/api/v1/namespaces/ns/services/web%3Ahttp/proxy/x',
    ],
    ['already prefixed absolute: made path-only', `http://bastion.example.com${P}/x`, `${P}/x`],
    // The apiserver's plain string-prefix check would leave this one alone.
    ['prefix without a segment boundary is not the prefix', `${P}-other/x`, `${P}${P}-other/x`],
    [
      'backslash after slash stays a path (no open redirect)',
      '/\\evil.example.com',
      `${P}/\\evil.example.com`,
    ],
    ['empty', '', ''],
  ];
  for (const [why, input, expected] of cases) assert.equal(rewriteLocation(input, ctx), expected, why);
});

test('a prefix with a trailing slash is used without it', () => {
  assert.equal(rewriteURL('/x', { ...ctx, prefix: `${P}/` }), `${P}/x`);
});

test('host routing (empty prefix) only strips same-origin hosts', () => {
  const host = { ...ctx, prefix: '' };
  assert.equal(rewriteURL('/x', host), '/x');
  assert.equal(rewriteURL('http://10.0.0.7:8080/x', host), '/x');
  assert.equal(rewriteURL('http://other/x', host), 'http://other/x');
});

test('IPv6 upstreams compare with their brackets', () => {
  const v6 = { ...ctx, upstreamHost: '[fd00::7]:8080' };
  assert.equal(rewriteURL('http://[fd00::7]:8080/x', v6), `${P}/x`);
  assert.equal(rewriteURL('http://[fd00::8]:8080/x', v6), 'http://[fd00::8]:8080/x');
});

test('isUnderPrefix checks whole segments', () => {
  assert.equal(isUnderPrefix(`${P}`, P), true);
  assert.equal(isUnderPrefix(`${P}/`, P), true);
  assert.equal(isUnderPrefix(`${P}x`, P), false);
  assert.equal(isUnderPrefix('/api', P), false);
});

test('an absolute Location to the backend stays absolute, on the origin the client used', () => {
  const at: RewriteContext = {
    ...ctx,
    service: { name: 'web', namespace: 'ns', port: 80 },
    clientOrigin: 'https://bastion.example.com:8443',
  };
  const O = 'https://bastion.example.com:8443';
  const cases: [string, string, string][] = [
    ['the endpoint ip:port', 'http://10.0.0.7:8080/moved?x=1#f', `${O}${P}/moved?x=1#f`],
    ['the endpoint, no path', 'http://10.0.0.7:8080', `${O}${P}/`],
    ['the Service by its full cluster name', 'http://web.ns.svc.cluster.local/login', `${O}${P}/login`],
    ['any cluster domain, with a trailing dot', 'http://web.ns.svc.corp.example./a', `${O}${P}/a`],
    ['web.ns.svc with the Service port', 'http://web.ns.svc:80/a', `${O}${P}/a`],
    ['web.ns', 'http://WEB.NS/a', `${O}${P}/a`],
    ['the bare Service name', 'http://web/a', `${O}${P}/a`],
    ['protocol-relative', '//web.ns.svc/a', `${O}${P}/a`],
    [
      'the gateway host the client used: absolute, and never downgraded',
      'http://bastion.example.com/x',
      `${O}${P}/x`,
    ],
    ['already prefixed on the backend', `http://10.0.0.7:8080${P}/x`, `${O}${P}/x`],
    ['relative stays relative', '/login', `${P}/login`],
    [
      'another port of the Service is not this backend',
      'http://web.ns.svc:9090/a',
      'http://web.ns.svc:9090/a',
    ],
    ['https on the default port is not port 80', 'https://web.ns.svc/a', 'https://web.ns.svc/a'],
    ['another Service', 'http://api.ns.svc/a', 'http://api.ns.svc/a'],
    ['another namespace', 'http://web.other.svc/a', 'http://web.other.svc/a'],
    ['a look-alike outside the cluster', 'http://web.ns.example.com/a', 'http://web.ns.example.com/a'],
    ['foreign', 'https://idp.example.com/authorize', 'https://idp.example.com/authorize'],
  ];
  for (const [why, input, expected] of cases) assert.equal(rewriteLocation(input, at), expected, why);
});

test('without a client origin (a Host that is no host) an absolute Location becomes path-only, as before', () => {
  assert.equal(rewriteLocation('http://10.0.0.7:8080/moved', ctx), `${P}/moved`);
});

test('host routing: only the backend moves, to the routed host', () => {
  const routed: RewriteContext = {
    prefix: '',
    upstreamHost: '10.0.0.7:8080',
    requestHost: 'web--ns.apps.example.com',
    service: { name: 'web', namespace: 'ns', port: 80 },
    clientOrigin: 'https://web--ns.apps.example.com',
  };
  assert.equal(rewriteLocation('http://10.0.0.7:8080/x', routed), 'https://web--ns.apps.example.com/x');
  assert.equal(
    rewriteLocation('http://web.ns.svc.cluster.local', routed),
    'https://web--ns.apps.example.com/',
  );
  assert.equal(rewriteLocation('/x', routed), '/x');
  assert.equal(rewriteLocation('https://idp.example.com/', routed), 'https://idp.example.com/');
});
