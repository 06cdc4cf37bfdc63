/**
 * Renewing a browser session with its refresh token. When the IdP answers
 * without a new id_token (OIDC allows that), the user stays as they were and
 * the new access token is proven good against the userinfo endpoint instead.
 */
import * as client from 'openid-client';
import type { MappedUser, Claims } from '../claims/mapping.js';
import { generation, nowSeconds, type Session } from '../session/session.js';

/** The IdP refused the refresh token (revoked, expired, reused): the session is over. */
export class RefreshRejectedError extends Error {
  readonly code = 'ERR_REFRESH_REJECTED';
  constructor(reason: string) {
    super(`the identity provider refused to renew the session (${reason})`);
    this.name = 'RefreshRejectedError';
  }
}

type Tokens = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

/** When the IdP's tokens stop being good (the access token's lifetime, else the id_token's exp), and how long they lasted. */
export function tokenTimes(tokens: Tokens, now = nowSeconds()): { tokExp?: number; tokTTL?: number } {
  if (typeof tokens.expires_in === 'number')
    return { tokExp: now + tokens.expires_in, tokTTL: tokens.expires_in };
  const exp = tokens.claims()?.exp;
  return typeof exp === 'number' ? { tokExp: exp, tokTTL: Math.max(0, exp - now) } : {};
}

export async function refreshSession(
  config: client.Configuration,
  session: Session,
  map: (claims: Claims) => MappedUser,
): Promise<Session> {
  let tokens: Tokens;
  try {
    tokens = await client.refreshTokenGrant(config, session.rt!);
  } catch (err) {
    if (err instanceof client.ResponseBodyError) throw new RefreshRejectedError(err.error);
    throw err;
  }
  let user = session.user;
  const claims = tokens.claims();
  if (claims) {
    if (claims.sub !== session.sub) throw new RefreshRejectedError('the id_token names another user');
    user = map(claims);
  } else if (config.serverMetadata().userinfo_endpoint) {
    try {
      await client.fetchUserInfo(config, tokens.access_token, session.sub);
    } catch (err) {
      if (err instanceof client.ResponseBodyError || err instanceof client.WWWAuthenticateChallengeError) {
        throw new RefreshRejectedError('userinfo refused the new access token');
      }
      throw err;
    }
  }
  return {
    ...session,
    user,
    rt: tokens.refresh_token ?? session.rt,
    idt: tokens.id_token ?? session.idt,
    gen: generation(session) + 1,
    ...tokenTimes(tokens),
  };
}
