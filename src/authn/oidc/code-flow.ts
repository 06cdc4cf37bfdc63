/**
 * The OpenID Connect authorization code flow (PKCE + state + nonce), run by
 * passport with openid-client's Strategy: the one file that knows passport.
 * It reads and writes the in-flight state in `req.session` (login-state.ts
 * puts a sealed cookie behind it) and, to start, redirects the browser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type express from 'express';
import passport from 'passport';
import * as client from 'openid-client';
import { Strategy, type AuthenticateOptions } from 'openid-client/passport';
import { ClaimError, type Claims, type MappedUser } from '../claims/mapping.js';
import type { IdentityProvider } from './identity-provider.js';

const STRATEGY_KEY = 'oidc';

/** Who signed in, and the tokens that say so. */
export interface SignedIn {
  user: MappedUser;
  sub: string;
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
}

/** How the callback ended: signed in, or refused by the claim mapping (or the IdP) with why. */
export type CallbackResult = { signedIn: SignedIn } | { refused: string | undefined };

/** The flow once the IdP's discovery is done. */
export interface CodeFlow {
  /** Sends the browser to the IdP; `failed` when the request cannot be made (nothing was sent then). */
  redirect(req: IncomingMessage, res: ServerResponse, failed: (err: unknown) => void): void;
  /** Redeems the code at the callback; rejects with the IdP's or the network's error. */
  redeem(req: IncomingMessage, res: ServerResponse): Promise<CallbackResult>;
}

/** openid-client's Strategy sends `state` and `nonce` only without PKCE; we want all three. */
class PkceStateNonceStrategy extends Strategy {
  override authorizationRequestParams<T extends AuthenticateOptions>(req: express.Request, options: T) {
    const params = new URLSearchParams(
      super.authorizationRequestParams(req, options) as Record<string, string> | undefined,
    );
    params.set('state', client.randomState());
    params.set('nonce', client.randomNonce());
    return params;
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/** The flow, once the IdP's discovery is done (rejects while the IdP cannot be reached). */
export function codeFlow(idp: IdentityProvider, publicURL: URL): () => Promise<CodeFlow> {
  // passport's typings return `any`; this is the shape it actually has.
  const authenticator = new passport.Passport() as unknown as {
    use(name: string, strategy: Strategy): void;
    authenticate(
      strategy: string,
      options: { session: false },
      callback?: (...args: never[]) => unknown,
    ): Handler;
  };
  let registered = false;

  /**
   * Registers the strategy once and returns its name. It must be used by name: passport then
   * runs each request on its own `Object.create(strategy)`. Handed the instance itself, it sets
   * that request's success/fail/redirect on the one shared object, so two sign-ins in flight
   * crossed: the token answer of one was delivered to the other's callback (a browser signed in
   * as someone else) and the first request never answered.
   */
  async function strategyFor(): Promise<string> {
    const config = await idp.config();
    if (registered) return STRATEGY_KEY;
    const strategy = new PkceStateNonceStrategy(
      {
        config,
        scope: idp.settings.scopes.join(' '),
        callbackURL: new URL('/auth/callback', publicURL),
        sessionKey: STRATEGY_KEY,
        name: STRATEGY_KEY,
      },
      (tokens, done) => {
        const claims = tokens.claims() as Claims | undefined;
        if (!claims) {
          done(new Error('the identity provider returned no id_token'));
          return;
        }
        try {
          done(null, { user: idp.map(claims), sub: String(claims.sub), tokens } satisfies SignedIn);
        } catch (err) {
          if (err instanceof ClaimError) done(null, false, { message: err.message });
          else done(err);
        }
      },
    );
    authenticator.use(STRATEGY_KEY, strategy);
    registered = true;
    return STRATEGY_KEY;
  }

  return async () => {
    const s = await strategyFor();
    return {
      redirect: (req, res, failed) => authenticator.authenticate(s, { session: false })(req, res, failed),
      redeem: (req, res) =>
        new Promise<CallbackResult>((resolve, reject) =>
          authenticator.authenticate(
            s,
            { session: false },
            (err: Error | null, signedIn: SignedIn | false, info?: { message?: string }) => {
              if (err) reject(err);
              else resolve(signedIn ? { signedIn } : { refused: info?.message });
            },
          )(req, res),
        ),
    };
  };
}
