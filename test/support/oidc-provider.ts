/**
 * A real OpenID Provider (panva/oidc-provider) on 127.0.0.1 for tests:
 * users with groups, refresh tokens, PKCE required, RP-initiated logout, and
 * a plain login form (`#login`, `#password`, `#submit`) that a browser or a
 * fetch script can fill. Consent is granted automatically.
 *
 * Test levers: `rotateKeys()`, `stop()` / `start()` (the IdP goes down and
 * comes back on the same port), `omitIdTokenOnRefresh`, `rejectUserinfo`, `holdToken`,
 * refresh tokens that rotate or not, short token TTLs, mutable users (change
 * groups, delete a user) and counters of grants and userinfo calls.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, {
  type Adapter,
  type AdapterPayload,
  type ClientMetadata,
  type Configuration,
  type JWK,
} from 'oidc-provider';

export interface TestUser {
  password?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface TestIdPOptions {
  users?: Record<string, TestUser>;
  clients?: ClientMetadata[];
  /** Seconds. */
  accessTokenTTL?: number;
  idTokenTTL?: number;
  refreshTokenTTL?: number;
  /** Whether a refresh returns a new refresh token (default) or the same one again, as many IdPs do. */
  rotateRefreshToken?: boolean;
}

export interface TestIdP {
  issuer: string;
  port: number;
  users: Map<string, TestUser>;
  /** Number of successful token endpoint calls by grant type. */
  grants: { authorization_code: number; refresh_token: number };
  /** When true, refresh responses carry no id_token (OIDC allows this; oauth2-proxy#318). */
  omitIdTokenOnRefresh: boolean;
  /** Requests to the userinfo endpoint (successful or not). */
  userinfoCalls: number;
  /** When true, userinfo answers 401 invalid_token, as for a revoked access token. */
  rejectUserinfo: boolean;
  /** While set, the token endpoint has done its work (grants counted) but waits for this promise to answer. */
  holdToken?: Promise<void>;
  setClients(clients: ClientMetadata[]): void;
  /** A new signing key takes over; the old one is dropped unless keepOld. */
  rotateKeys(keepOld?: boolean): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_USERS: Record<string, TestUser> = {
  alice: {
    password: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice',
    groups: ['team-a', 'devs'],
  },
  bob: { password: 'bob', email: 'bob@example.com', email_verified: true, name: 'Bob', groups: ['team-b'] },
};

/* eslint-disable @typescript-eslint/require-await -- oidc-provider's adapter and hooks are async interfaces */
/** Per-IdP in-memory storage, so rebuilding the provider (key rotation) keeps grants and sessions. */
function memoryAdapter(store: Map<string, AdapterPayload & { expiresAt?: number }>) {
  return class MemoryAdapter implements Adapter {
    constructor(private readonly name: string) {}
    private key(id: string) {
      return `${this.name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      store.set(this.key(id), {
        ...payload,
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
      });
      if (payload.grantId)
        store.set(`grant:${payload.grantId}:${this.key(id)}`, { grantId: payload.grantId });
    }
    async find(id: string) {
      const v = store.get(this.key(id));
      if (!v || (v.expiresAt && v.expiresAt < Date.now())) return undefined;
      return v;
    }
    async findByUid(uid: string) {
      for (const [k, v] of store) if (k.startsWith(`${this.name}:`) && v.uid === uid) return v;
      return undefined;
    }
    async findByUserCode(userCode: string) {
      for (const [k, v] of store) if (k.startsWith(`${this.name}:`) && v.userCode === userCode) return v;
      return undefined;
    }
    async consume(id: string) {
      const v = store.get(this.key(id));
      if (v) v.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [k, v] of [...store]) if (v.grantId === grantId) store.delete(k);
    }
  };
}

const newKey = (): JWK => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...(privateKey.export({ format: 'jwk' }) as JWK),
    kid: randomBytes(6).toString('hex'),
    alg: 'RS256',
    use: 'sig',
  };
};

const page = (body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>Test IdP sign-in</title></head><body>${body}</body></html>`;

export async function startTestIdP(opts: TestIdPOptions = {}): Promise<TestIdP> {
  const users = new Map(Object.entries(opts.users ?? DEFAULT_USERS));
  const store = new Map<string, AdapterPayload & { expiresAt?: number }>();
  const cookieKeys = [randomBytes(32).toString('hex')];
  let keys: JWK[] = [newKey()];
  let clients: ClientMetadata[] = opts.clients ?? [];
  let provider: Provider;
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const idp: TestIdP = {
    issuer,
    port,
    users,
    grants: { authorization_code: 0, refresh_token: 0 },
    omitIdTokenOnRefresh: false,
    userinfoCalls: 0,
    rejectUserinfo: false,
    setClients(c) {
      clients = c;
      build();
    },
    rotateKeys(keepOld = false) {
      keys = keepOld ? [newKey(), ...keys] : [newKey()];
      build();
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async start() {
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    async close() {
      if (server.listening) await idp.stop();
    },
  };

  function build() {
    const configuration: Configuration = {
      adapter: memoryAdapter(store),
      clients,
      jwks: { keys },
      cookies: { keys: cookieKeys },
      pkce: { required: () => true },
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: { enabled: true },
        revocation: { enabled: true },
        userinfo: { enabled: true },
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
      conformIdTokenClaims: false, // put the claims in the id_token, as most IdPs do
      ttl: {
        AccessToken: opts.accessTokenTTL ?? 3600,
        IdToken: opts.idTokenTTL ?? opts.accessTokenTTL ?? 3600,
        RefreshToken: opts.refreshTokenTTL ?? 86_400,
        Interaction: 600,
        Session: 86_400,
        Grant: 86_400,
        AuthorizationCode: 60,
      },
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: opts.rotateRefreshToken ?? true,
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      findAccount: async (_ctx, sub) => {
        const user = users.get(sub);
        if (!user) return undefined;
        return {
          accountId: sub,
          claims: async () => ({
            sub,
            email: user.email,
            email_verified: user.email_verified,
            name: user.name,
            groups: user.groups ?? [],
          }),
        };
      },
    };
    provider = new Provider(issuer, configuration);
    provider.proxy = false;
    provider.use(async (ctx, next) => {
      if (ctx.path === '/me') {
        idp.userinfoCalls++;
        if (idp.rejectUserinfo) {
          ctx.status = 401;
          ctx.set(
            'www-authenticate',
            'Bearer error="invalid_token", error_description="access token revoked"',
          );
          ctx.body = { error: 'invalid_token', error_description: 'access token revoked' };
          return;
        }
      }
      await next();
      if (ctx.path !== '/token' || ctx.status !== 200) return;
      const grantType = (ctx.oidc?.params?.grant_type as string | undefined) ?? '';
      if (grantType === 'authorization_code' || grantType === 'refresh_token') idp.grants[grantType]++;
      if (idp.holdToken) await idp.holdToken;
      const body = ctx.body as Record<string, unknown> | undefined;
      if (grantType === 'refresh_token' && idp.omitIdTokenOnRefresh && body) delete body.id_token;
    });
  }
  build();

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const m = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url ?? '');
    if (!m) return provider.callback()(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        if (req.method === 'POST' && m[2]) {
          const form = new URLSearchParams(await readBody(req));
          const login = form.get('login') ?? '';
          const user = users.get(login);
          if (!user || (user.password !== undefined && user.password !== form.get('password'))) {
            res.writeHead(200, { 'content-type': 'text/html' });
            return res.end(page(`<p id="error">Wrong user or password.</p>${loginForm(m[1])}`));
          }
          return await provider.interactionFinished(
            req,
            res,
            { login: { accountId: login } },
            { mergeWithLastSubmission: false },
          );
        }
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(page(loginForm(m[1])));
      }
      // consent: grant whatever was asked for
      const grant = details.grantId
        ? (await provider.Grant.find(details.grantId))!
        : new provider.Grant({
            accountId: details.session!.accountId,
            clientId: details.params.client_id as string,
          });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${(err as Error).message}`);
    }
  }

  return idp;
}

function loginForm(uid: string): string {
  return `<h1>Sign in to the test IdP</h1>
<form method="post" action="/interaction/${uid}/login">
<label>User <input id="login" name="login" autofocus></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="submit" type="submit">Sign in</button></form>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

/** A confidential web client for a gateway at `publicURL` (or several, sharing the client). */
export function gatewayClient(
  publicURL: string | string[],
  clientId = 'kube-bastion',
  secret = 'kube-bastion-secret',
): ClientMetadata {
  const bases = [publicURL].flat().map((u) => u.replace(/\/$/, ''));
  return {
    client_id: clientId,
    client_secret: secret,
    redirect_uris: bases.map((b) => `${b}/auth/callback`),
    post_logout_redirect_uris: bases.map((b) => `${b}/`),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  };
}
