/**
 * The demo's embedded OpenID Provider (oidc-provider, on 127.0.0.1): users
 * alice and bob, a sign-in page that lists them and accepts any password,
 * PKCE required, consent granted without asking (the gateway is the only
 * client). Development only: in-memory state, keys generated at start.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import type { Configuration, KoaContextWithOIDC, Provider as ProviderType } from 'oidc-provider';
import { STYLESHEET } from '../web/pages/stylesheet.js';
import { closeServer, listenLoopback, readForm, send } from './loopback.js';
import { renderIdPLogin, renderIdPLogout, renderIdPSignedOut } from './idp-pages.js';
import { DEMO_USERS, type DemoUser } from './users.js';

export interface DemoIdPOptions {
  /** The gateway's callback, `…/auth/callback`. */
  redirectURI: string;
  /** Where the IdP sends people after signing out (the gateway's `/`). */
  postLogoutRedirectURI: string;
  users?: readonly DemoUser[];
}

export interface DemoIdP {
  issuer: string;
  clientID: string;
  clientSecret: string;
  close(): Promise<void>;
}

/**
 * oidc-provider prints development warnings (memory adapter, Node 20 runtime,
 * default templates) through console; they are expected here and would only
 * bury the demo's banner.
 */
function silenceProviderNotices(): () => void {
  const { warn, info } = console;
  const quiet =
    (fn: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
      fn(...args);
    };
  console.warn = quiet(warn);
  console.info = quiet(info);
  return () => {
    console.warn = warn;
    console.info = info;
  };
}

async function signingKeys(): Promise<{ keys: Record<string, unknown>[] }> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { keys: [{ ...(await exportJWK(privateKey)), kid: 'demo-1', alg: 'RS256', use: 'sig' }] };
}

export async function startDemoIdP(o: DemoIdPOptions): Promise<DemoIdP> {
  const users = o.users ?? DEMO_USERS;
  const restoreConsole = silenceProviderNotices();
  const { default: Provider } = await import('oidc-provider');
  const server = http.createServer();
  const port = await listenLoopback(server);
  const issuer = `http://127.0.0.1:${port}`;
  const clientID = 'kube-bastion-demo';
  const clientSecret = randomBytes(24).toString('base64url');

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientID,
        client_secret: clientSecret,
        redirect_uris: [o.redirectURI],
        post_logout_redirect_uris: [o.postLogoutRedirectURI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    jwks: await signingKeys(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub', 'groups'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    // The gateway reads the claims from the id_token.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const user = users.find((u) => u.username === sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          name: user.name,
          preferred_username: user.username,
          email: user.email,
          email_verified: true,
          groups: user.groups,
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: KoaContextWithOIDC, form: string) => {
          ctx.body = renderIdPLogout(form);
        },
        postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => {
          ctx.body = renderIdPSignedOut();
        },
      },
    },
    ttl: {
      Session: 12 * 3600,
      Interaction: 3600,
      Grant: 12 * 3600,
      AccessToken: 3600,
      IdToken: 3600,
      AuthorizationCode: 60,
      RefreshToken: 12 * 3600,
    },
  };
  const provider: ProviderType = new Provider(issuer, configuration);
  const callback = provider.callback();

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (path === '/_demo/style.css') return send(res, 200, 'text/css; charset=utf-8', STYLESHEET);
    const interaction = /^\/interaction\/[^/]+(\/login)?$/.exec(path);
    if (!interaction) return void callback(req, res);
    handleInteraction(provider, users, req, res, interaction[1] !== undefined).catch((err: unknown) => {
      if (!res.headersSent)
        send(
          res,
          400,
          'text/plain; charset=utf-8',
          `sign-in failed: ${(err as Error).message}\nStart again from the gateway.\n`,
        );
    });
  });

  return {
    issuer,
    clientID,
    clientSecret,
    async close() {
      await closeServer(server);
      restoreConsole();
    },
  };
}

async function handleInteraction(
  provider: ProviderType,
  users: readonly DemoUser[],
  req: http.IncomingMessage,
  res: http.ServerResponse,
  submitted: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'consent') return grantConsent(provider, details, req, res);
  const action = `/interaction/${details.uid}/login`;
  if (!submitted || req.method !== 'POST') {
    return send(res, 200, 'text/html; charset=utf-8', renderIdPLogin({ action, users }), {
      'cache-control': 'no-store',
    });
  }
  const form = await readForm(req);
  const login = (form.get('login') ?? '').trim().toLowerCase();
  const user = users.find((u) => u.username === login);
  if (!user) {
    const page = renderIdPLogin({
      action,
      users,
      error: `There is no demo user "${login}". Use one of the users listed below.`,
      login,
    });
    return send(res, 200, 'text/html; charset=utf-8', page, { 'cache-control': 'no-store' });
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.username } },
    { mergeWithLastSubmission: false },
  );
}

/** The gateway is a first-party client: grant what it asked for without a consent screen. */
async function grantConsent(
  provider: ProviderType,
  details: Awaited<ReturnType<ProviderType['interactionDetails']>>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  const grant = details.grantId
    ? (await provider.Grant.find(details.grantId))!
    : new provider.Grant({
        accountId: details.session!.accountId,
        clientId: String(details.params.client_id),
      });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { consent: details.grantId ? {} : { grantId } },
    { mergeWithLastSubmission: true },
  );
}
