/**
 * POST /auth/cli/token — every grant of the terminal, answered in the OAuth
 * shape (RFC 6749 §5, RFC 8628 §3.4–3.5):
 *
 *   grant_type=authorization_code  code, code_verifier     (loopback flow)
 *   grant_type=urn:…:device_code   device_code             (device flow: pending, slow_down, …)
 *   grant_type=refresh_token       refresh_token           (rotation; a replay revokes the family)
 *
 * POST /auth/cli/revoke — token=<refresh or access token>: ends the sign-in it
 * belongs to. As RFC 7009 §2.2 says, an unknown token is answered 200 too.
 *
 * No CORS headers: no web page can read an answer from here.
 */
import type express from 'express';
import type { AccessTokens } from './access-token.js';
import type { DeviceGrants } from './device-grants.js';
import type { TokenFamilies } from './families.js';
import type { LoopbackCodes } from './loopback-codes.js';
import { invalidRequest, OAuthError, sendJSON } from './oauth-error.js';
import { GRANT_TYPES, VERIFIER_SHAPE, type TokenResponse } from './protocol.js';

export interface TokenEndpointDeps {
  codes: LoopbackCodes;
  grants: DeviceGrants;
  families: TokenFamilies;
  tokens: AccessTokens;
  /** Counts answers by grant and outcome (metrics). */
  count?(grant: string, result: string): void;
}

const field = (body: Record<string, unknown>, name: string): string => {
  const value = body[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 512)
    throw invalidRequest(`missing or malformed ${name}`);
  return value;
};

const GRANT_LABEL: Record<string, string> = {
  [GRANT_TYPES.code]: 'authorization_code',
  [GRANT_TYPES.refresh]: 'refresh_token',
  [GRANT_TYPES.device]: 'device_code',
};

export function tokenHandlers(deps: TokenEndpointDeps) {
  async function grant(body: Record<string, unknown>): Promise<TokenResponse> {
    switch (body.grant_type) {
      case GRANT_TYPES.code: {
        const code = field(body, 'code');
        const verifier = field(body, 'code_verifier');
        if (!VERIFIER_SHAPE.test(verifier)) throw invalidRequest('code_verifier is not a PKCE verifier');
        const c = await deps.codes.redeem(code, verifier);
        return deps.families.start(c.identity, c.endsAt, 'loopback', c.client);
      }
      case GRANT_TYPES.device: {
        const d = await deps.grants.poll(field(body, 'device_code'));
        return deps.families.start(d.identity, d.endsAt, 'device', d.client);
      }
      case GRANT_TYPES.refresh:
        return deps.families.refresh(field(body, 'refresh_token'));
      default:
        throw new OAuthError(
          'unsupported_grant_type',
          'grant_type must be authorization_code, refresh_token or device_code',
        );
    }
  }

  async function token(req: express.Request, res: express.Response): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const label = GRANT_LABEL[String(body.grant_type)] ?? 'other';
    try {
      const answer = await grant(body);
      deps.count?.(label, 'issued');
      sendJSON(res, 200, answer);
    } catch (err) {
      if (err instanceof OAuthError) deps.count?.(label, err.error);
      throw err;
    }
  }

  async function revoke(req: express.Request, res: express.Response): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const presented = field(body, 'token');
    const fid =
      (await deps.families.familyOfRefreshToken(presented)) ??
      (await deps.tokens.verify(presented).then(
        (t) => t.fid,
        () => undefined,
      ));
    if (fid) await deps.families.revoke(fid, 'logout');
    sendJSON(res, 200, {});
  }

  return { token, revoke };
}
