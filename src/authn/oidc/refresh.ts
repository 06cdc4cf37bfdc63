/**
 * Renewing a session with its refresh token. The user is mapped again from
 * what the IdP says now: the new id_token's claims, or — when the IdP answers
 * without one (OIDC allows that) — its userinfo for the new access token,
 * through the same claim mapping. When neither can confirm who the user is
 * and which groups they have, the session ends: keeping the old groups would
 * let a user removed from a group at the IdP keep its access for the whole
 * session lifetime.
 */
import * as client from 'openid-client';
import { ClaimError, type Claims, type MappedUser } from '../claims/mapping.js';
import { generation, toSeconds, type Session } from '../session/session.js';

/** The IdP refused the refresh token (revoked, expired, reused), or the user cannot be confirmed: the session is over. */
export class RefreshRejectedError extends Error {
  readonly code = 'ERR_REFRESH_REJECTED';
  constructor(reason: string) {
    super(`the identity provider refused to renew the session (${reason})`);
    this.name = 'RefreshRejectedError';
  }
}

type Tokens = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

/**
 * When the IdP's tokens stop being good (the access token's lifetime, else
 * the id_token's), and how long they lasted; in seconds on the session clock.
 */
export function tokenTimes(tokens: Tokens, now: number): { tokExp?: number; tokTTL?: number } {
  if (typeof tokens.expires_in === 'number')
    return { tokExp: now + tokens.expires_in, tokTTL: tokens.expires_in };
  const exp = tokens.claims()?.exp;
  if (typeof exp !== 'number') return {};
  // exp is on the IdP's (wall) clock; what is left of it is counted on ours.
  const left = Math.max(0, exp - toSeconds(Date.now()));
  return { tokExp: now + left, tokTTL: left };
}

function mapOrReject(map: (claims: Claims) => MappedUser, claims: Claims, source: string): MappedUser {
  try {
    return map(claims);
  } catch (err) {
    if (err instanceof ClaimError) throw new RefreshRejectedError(`${source}: ${err.message}`);
    throw err;
  }
}

/** The user as userinfo describes it now; a RefreshRejectedError when it cannot be confirmed. */
async function userFromUserinfo(
  config: client.Configuration,
  accessToken: string,
  session: Session,
  map: (claims: Claims) => MappedUser,
): Promise<MappedUser> {
  if (!config.serverMetadata().userinfo_endpoint)
    throw new RefreshRejectedError('no new id_token and no userinfo endpoint to confirm the groups');
  let claims: Claims;
  try {
    // The expected subject makes openid-client refuse an answer about anyone else.
    claims = await client.fetchUserInfo(config, accessToken, session.sub);
  } catch (err) {
    const why =
      err instanceof client.ResponseBodyError || err instanceof client.WWWAuthenticateChallengeError
        ? 'userinfo refused the new access token'
        : 'userinfo could not confirm the user';
    throw new RefreshRejectedError(why);
  }
  const user = mapOrReject(map, claims, 'userinfo');
  if (user.username !== session.user.username) throw new RefreshRejectedError('userinfo names another user');
  return user;
}

/** @param now seconds on the session clock */
export async function refreshSession(
  config: client.Configuration,
  session: Session,
  map: (claims: Claims) => MappedUser,
  now: number,
): Promise<Session> {
  let tokens: Tokens;
  try {
    tokens = await client.refreshTokenGrant(config, session.rt!);
  } catch (err) {
    if (err instanceof client.ResponseBodyError) throw new RefreshRejectedError(err.error);
    throw err;
  }
  const claims = tokens.claims();
  let user: MappedUser;
  if (claims) {
    if (claims.sub !== session.sub) throw new RefreshRejectedError('the id_token names another user');
    user = mapOrReject(map, claims, 'the new id_token');
  } else {
    user = await userFromUserinfo(config, tokens.access_token, session, map);
  }
  return {
    ...session,
    user,
    rt: tokens.refresh_token ?? session.rt,
    idt: tokens.id_token ?? session.idt,
    gen: generation(session) + 1,
    ...tokenTimes(tokens, now),
  };
}

/** Revokes a refresh token at the IdP when it has a revocation endpoint; false when that could not be done. */
export async function revokeRefreshToken(
  config: client.Configuration,
  rt: string | undefined,
): Promise<boolean> {
  if (!rt || !config.serverMetadata().revocation_endpoint) return true;
  try {
    await client.tokenRevocation(config, rt, { token_type_hint: 'refresh_token' });
    return true;
  } catch {
    return false;
  }
}
