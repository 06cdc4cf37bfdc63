/**
 * The fake API server is what every integration test trusts to behave like
 * kube-apiserver, so its behaviour is pinned here: TLS with its own CA,
 * bearer auth, list/watch semantics, and the TokenReview and
 * SubjectAccessReview answers other components rely on.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { ApiClient, ApiStatusError, loadKubeConfig } from '../../src/kube/index.js';
import { eventually } from '../support/eventually.js';
import { endpointSlice, service, startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';

interface Reply {
  status: number;
  body: string;
}

/** A GET with the server's CA; for watches, collects lines until `lines` arrived or the stream ended. */
function get(
  api: FakeApiServer,
  path: string,
  opts: { token?: string | null; ca?: boolean; lines?: number } = {},
): Promise<
  Reply & {
    events: Array<{
      type: string;
      object: { code?: number; metadata?: { resourceVersion?: string; name?: string } };
    }>;
  }
> {
  return new Promise((resolve, reject) => {
    const token = opts.token === undefined ? api.token : opts.token;
    const req = request(`${api.url}${path}`, {
      ca: opts.ca === false ? undefined : api.caPem,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      const finish = () => {
        const events = body
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as never);
        resolve({ status: res.statusCode ?? 0, body, events: path.includes('watch=true') ? events : [] });
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (opts.lines !== undefined && body.split('\n').filter(Boolean).length >= opts.lines) {
          res.destroy();
          finish();
        }
      });
      res.on('end', finish);
    });
    req.end();
  });
}

describe('fake API server: transport and auth', () => {
  let api: FakeApiServer;
  before(async () => (api = await startFakeApiServer({ objects: [service('team-a', 'web', [80])] })));
  after(() => api.stop());

  test('serves HTTPS that verifies only with its own CA', async () => {
    await assert.rejects(
      get(api, '/api/v1/services', { ca: false }),
      /self-signed|unable to verify|local issuer/,
    );
    assert.equal((await get(api, '/api/v1/services')).status, 200);
  });

  test('answers 401 with a Status object without the right bearer token', async () => {
    for (const token of [null, 'wrong']) {
      const reply = await get(api, '/api/v1/services', { token });
      assert.equal(reply.status, 401);
      assert.deepEqual(JSON.parse(reply.body), {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
  });

  test('a written kubeconfig works with loadKubeConfig, the gateway client and the real client', async () => {
    const access = loadKubeConfig({
      kubeconfig: api.writeKubeconfig(),
      context: 'fake',
      podCacheTTL: 5000,
      nodeCacheTTL: 30000,
    });
    const client = new ApiClient(access);
    const svc = await client.get<V1Service>('/api/v1/namespaces/team-a/services/web');
    assert.equal(svc.spec?.ports?.[0]?.port, 80);
    await assert.rejects(
      client.get('/api/v1/namespaces/team-a/services/nope'),
      (err: unknown) =>
        err instanceof ApiStatusError &&
        err.status === 404 &&
        JSON.parse(err.body).message === 'services "nope" not found',
    );
    const real = (await api.clientNodeKubeConfig()).makeApiClient(CoreV1Api);
    const same = await real.readNamespacedService({ namespace: 'team-a', name: 'web' });
    assert.equal(same.spec?.ports?.[0]?.port, 80);
  });

  test('the gateway client verifies the server against the kubeconfig CA', async () => {
    const file = api.writeKubeconfig();
    const doc = parse(readFileSync(file, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
    delete doc.clusters[0].cluster['certificate-authority-data'];
    writeFileSync(file, stringify(doc));
    const client = new ApiClient(
      loadKubeConfig({ kubeconfig: file, podCacheTTL: 5000, nodeCacheTTL: 30000 }),
    );
    await assert.rejects(client.get('/api/v1/namespaces/team-a/services/web'), /certificate/);
  });
});

describe('fake API server: list and watch', () => {
  let api: FakeApiServer;
  before(async () => (api = await startFakeApiServer({ bookmarkIntervalMs: 50 })));
  after(() => api.stop());

  test('lists with a resourceVersion and filters EndpointSlices by service-name label', async () => {
    api.upsert(
      endpointSlice('ns1', 'web', [{ ip: '10.0.0.1' }], [80]),
      endpointSlice('ns1', 'db', [{ ip: '10.0.0.2' }], [5432]),
      endpointSlice('ns2', 'web', [{ ip: '10.0.0.3' }], [80]),
    );
    const all = JSON.parse((await get(api, '/apis/discovery.k8s.io/v1/endpointslices')).body) as {
      kind: string;
      metadata: { resourceVersion: string };
      items: unknown[];
    };
    assert.equal(all.kind, 'EndpointSliceList');
    assert.equal(all.metadata.resourceVersion, api.resourceVersion);
    assert.equal(all.items.length, 3);
    const web = JSON.parse(
      (
        await get(
          api,
          '/apis/discovery.k8s.io/v1/namespaces/ns1/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb',
        )
      ).body,
    ) as { items: unknown[] };
    assert.equal(web.items.length, 1);
  });

  test('pages a list with limit/continue from one snapshot', async () => {
    for (let i = 0; i < 5; i++) api.upsert(service('paged', `s${i}`, [80]));
    const first = JSON.parse((await get(api, '/api/v1/namespaces/paged/services?limit=2')).body) as {
      metadata: { continue: string; resourceVersion: string; remainingItemCount: number };
      items: unknown[];
    };
    assert.equal(first.items.length, 2);
    assert.equal(first.metadata.remainingItemCount, 3);
    api.upsert(service('paged', 'late', [80]));
    const rest = JSON.parse(
      (await get(api, `/api/v1/namespaces/paged/services?limit=10&continue=${first.metadata.continue}`)).body,
    ) as { metadata: { continue?: string; resourceVersion: string }; items: unknown[] };
    assert.equal(rest.items.length, 3, 'the object created after the first page is not in this list');
    assert.equal(rest.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.equal(rest.metadata.continue, undefined);
  });

  test('a watch replays the changes after its resourceVersion, then streams, with bookmarks', async () => {
    const from = api.resourceVersion;
    const slice = api.upsert(endpointSlice('w', 'web', [{ ip: '10.1.0.1' }], [80]))[0];
    api.remove(slice);
    const reply = await get(
      api,
      `/apis/discovery.k8s.io/v1/namespaces/w/endpointslices?watch=true&resourceVersion=${from}&allowWatchBookmarks=true`,
      { lines: 3 },
    );
    assert.deepEqual(
      reply.events.map((e) => e.type),
      ['ADDED', 'DELETED', 'BOOKMARK'],
    );
    assert.equal(reply.events[2]?.object.metadata?.resourceVersion, api.resourceVersion);
  });

  test('a watch from a compacted resourceVersion gets an ERROR event with a 410 Status', async () => {
    const old = api.resourceVersion;
    api.upsert(service('gone', 'a', [80]));
    api.compactHistory();
    const reply = await get(api, `/api/v1/services?watch=true&resourceVersion=${old}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.events[0]?.type, 'ERROR');
    assert.equal(reply.events[0]?.object.code, 410);
  });

  test('the server ends a watch cleanly after timeoutSeconds', async () => {
    const watchesBefore = api.activeWatches;
    const replied = get(
      api,
      `/api/v1/services?watch=true&resourceVersion=${api.resourceVersion}&timeoutSeconds=1`,
    );
    // The watch stays open (an event arrives on it), then ends by itself: no hang, no error.
    await eventually(() => api.activeWatches > watchesBefore);
    api.upsert(service('timeout', 'late', [80]));
    const reply = await replied;
    assert.equal(reply.status, 200);
    assert.deepEqual(
      reply.events.map((e) => `${e.type} ${e.object.metadata?.name}`),
      ['ADDED late'],
    );
  });

  test('a watch with a label selector sees an object that stops matching as DELETED', async () => {
    const from = api.resourceVersion;
    const svc = service('sel', 'web', [80], { labels: { tier: 'front' } });
    api.upsert(svc);
    api.upsert({ ...svc, metadata: { ...svc.metadata, labels: { tier: 'back' } } });
    const reply = await get(
      api,
      `/api/v1/services?watch=true&resourceVersion=${from}&labelSelector=tier%3Dfront`,
      { lines: 2 },
    );
    assert.deepEqual(
      reply.events.map((e) => e.type),
      ['ADDED', 'DELETED'],
    );
  });

  test('counts requests by verb and resource', () => {
    assert.ok(api.count({ verb: 'list', resource: 'services' }) >= 1);
    assert.ok(api.count({ verb: 'watch', resource: 'endpointslices' }) >= 1);
  });
});

describe('fake API server: TokenReview and SubjectAccessReview through the real client', () => {
  let api: FakeApiServer;
  let authn: AuthenticationV1Api;
  let authz: AuthorizationV1Api;
  before(async () => {
    api = await startFakeApiServer({
      tokens: {
        'ci-token': {
          username: 'system:serviceaccount:team-a:ci',
          uid: 'u-1',
          groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a'],
          audiences: ['bastion'],
        },
        'plain-token': { username: 'bob' },
      },
      grants: [
        {
          name: 'team-a-proxy',
          group: 'system:serviceaccounts:team-a',
          namespace: 'team-a',
          resource: 'services',
          subresource: 'proxy',
          verbs: ['get', 'create'],
        },
        {
          name: 'only-web',
          user: 'bob',
          namespace: 'team-b',
          resource: 'services/proxy',
          verbs: ['get'],
          resourceNames: ['web:http'],
        },
        { name: 'nodes', user: 'ops', resource: 'nodes/proxy', verbs: ['*'] },
        { name: 'block', user: 'mallory', resource: '*', verbs: ['*'], effect: 'deny' },
      ],
    });
    const kc = await api.clientNodeKubeConfig();
    authn = kc.makeApiClient(AuthenticationV1Api);
    authz = kc.makeApiClient(AuthorizationV1Api);
  });
  after(() => api.stop());

  const review = (token: string, audiences?: string[]) =>
    authn.createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } },
    });

  test('a known token with an overlapping audience is authenticated, with system:authenticated added', async () => {
    const tr = await review('ci-token', ['other', 'bastion']);
    assert.equal(tr.status?.authenticated, true);
    assert.equal(tr.status?.user?.username, 'system:serviceaccount:team-a:ci');
    assert.equal(tr.status?.user?.uid, 'u-1');
    assert.deepEqual(tr.status?.user?.groups, [
      'system:serviceaccounts',
      'system:serviceaccounts:team-a',
      'system:authenticated',
    ]);
    assert.deepEqual(tr.status?.audiences, ['bastion']);
  });

  test('a token for another audience, or an unknown token, is not authenticated and says why', async () => {
    const wrongAudience = await review('ci-token', ['kube-bastion-other']);
    assert.notEqual(wrongAudience.status?.authenticated, true);
    assert.match(wrongAudience.status?.error ?? '', /audiences/);
    const unknown = await review('no-such-token');
    assert.notEqual(unknown.status?.authenticated, true);
    assert.match(unknown.status?.error ?? '', /invalid bearer token/);
  });

  test('without spec.audiences the API server audience applies', async () => {
    const tr = await review('plain-token');
    assert.equal(tr.status?.authenticated, true);
    assert.deepEqual(tr.status?.audiences, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal((await review('ci-token')).status?.authenticated, undefined);
  });

  const sar = (
    user: string,
    groups: string[],
    attrs: { namespace?: string; verb: string; resource: string; subresource?: string; name?: string },
  ) =>
    authz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user, groups, resourceAttributes: attrs },
      },
    });

  test('SubjectAccessReview follows the grants: subject, namespace, subresource, verb, resourceNames', async () => {
    const before = api.count({ resource: 'subjectaccessreviews' });
    const ci = ['system:serviceaccounts:team-a'];
    const allowed = await sar('ci', ci, {
      namespace: 'team-a',
      verb: 'get',
      resource: 'services',
      subresource: 'proxy',
      name: 'web',
    });
    assert.equal(allowed.status?.allowed, true);
    assert.match(allowed.status?.reason ?? '', /RoleBinding "team-a-proxy\/team-a"/);
    assert.equal(
      (await sar('ci', ci, { namespace: 'team-b', verb: 'get', resource: 'services', subresource: 'proxy' }))
        .status?.allowed,
      false,
    );
    assert.equal(
      (
        await sar('ci', ci, {
          namespace: 'team-a',
          verb: 'delete',
          resource: 'services',
          subresource: 'proxy',
        })
      ).status?.allowed,
      false,
    );
    assert.equal(
      (await sar('ci', ci, { namespace: 'team-a', verb: 'get', resource: 'services' })).status?.allowed,
      false,
    );
    assert.equal(
      (
        await sar('bob', [], {
          namespace: 'team-b',
          verb: 'get',
          resource: 'services',
          subresource: 'proxy',
          name: 'web:http',
        })
      ).status?.allowed,
      true,
    );
    assert.equal(
      (
        await sar('bob', [], {
          namespace: 'team-b',
          verb: 'get',
          resource: 'services',
          subresource: 'proxy',
          name: 'web',
        })
      ).status?.allowed,
      false,
    );
    assert.equal(
      (await sar('ops', [], { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'node-1' })).status
        ?.allowed,
      true,
    );
    const denied = await sar('mallory', [], {
      namespace: 'x',
      verb: 'get',
      resource: 'pods',
      subresource: 'proxy',
    });
    assert.equal(denied.status?.allowed, false);
    assert.equal(denied.status?.denied, true);
    assert.equal(api.count({ resource: 'subjectaccessreviews' }) - before, 8);
  });

  test('grants added during a test take effect at once', async () => {
    const attrs = { namespace: 'team-c', verb: 'get', resource: 'pods', subresource: 'proxy' };
    assert.equal((await sar('carol', [], attrs)).status?.allowed, false);
    api.grants.push({ user: 'carol', namespace: 'team-c', resource: 'pods/proxy', verbs: ['get'] });
    assert.equal((await sar('carol', [], attrs)).status?.allowed, true);
  });

  test('a SubjectAccessReview without user or groups is rejected as invalid', async () => {
    await assert.rejects(
      sar('', [], { namespace: 'a', verb: 'get', resource: 'services' }),
      (err: { code?: number }) => err.code === 422,
    );
  });
});
