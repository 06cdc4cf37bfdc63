/**
 * CLI access tokens as the third kind of bearer token (beside JWT issuers
 * and ServiceAccount tokens): the signature, audience and expiry are checked
 * once per token (cached), the family on every request — so a logout or a
 * revocation stops a token within the store's lag, not at its expiry.
 *
 * A connection opened with one (a WebSocket, a TCP tunnel) lives as long as
 * the sign-in it came from: liveness follows the family, not the one-hour
 * token, so a psql session is not cut when the token it was opened with is
 * replaced; it ends at logout, on revocation, or at the family's end.
 */
import { GatewayError, serviceUnavailable, unauthorized } from '../../errors.js';
import { withAuthenticatedGroup, type Identity } from '../../request/identity.js';
import type { CredentialLiveness } from '../liveness.js';
import { TokenCache } from '../token-cache.js';
import { AccessTokenError, type AccessTokens, type VerifiedAccessToken } from './access-token.js';
import type { TokenFamilies } from './families.js';
import { StoreUnavailableError } from './store/record-store.js';

const ENDED = 'signed out of the terminal, or the sign-in was revoked or has ended; run `kube-bastion login`';

export class TerminalBearer {
  private readonly verified: TokenCache<VerifiedAccessToken>;

  constructor(
    private readonly tokens: AccessTokens,
    private readonly families: TokenFamilies,
    private readonly now: () => number,
    private readonly recheckMs: number,
  ) {
    this.verified = new TokenCache({ now });
  }

  private verify(token: string): Promise<VerifiedAccessToken> {
    return this.verified.remember(TokenCache.key(token), async () => {
      try {
        const v = await this.tokens.verify(token);
        return { value: v, until: v.expiresAt };
      } catch (err) {
        if (err instanceof AccessTokenError) throw unauthorized(err.message);
        throw err;
      }
    });
  }

  /** The family's end, or a 401 when it no longer counts; a 503 when the store cannot say. */
  private async familyEnd(fid: string): Promise<number | undefined> {
    try {
      return await this.families.liveUntil(fid);
    } catch (err) {
      if (err instanceof StoreUnavailableError)
        throw serviceUnavailable(`cannot check CLI sign-ins right now (${err.message}); try again`);
      throw err;
    }
  }

  async authenticate(token: string): Promise<Identity> {
    const v = await this.verify(token);
    if (v.expiresAt <= this.now())
      throw unauthorized('the access token has expired; run `kube-bastion token` for a new one');
    if ((await this.familyEnd(v.fid)) === undefined) throw unauthorized(ENDED);
    return withAuthenticatedGroup({ ...v.identity, extra: v.identity.extra ?? {}, method: 'cli' });
  }

  /** For a connection opened with `token` (already authenticated): closes when its sign-in ends. */
  liveness(token: string): CredentialLiveness {
    const fid = this.verify(token).then((v) => v.fid);
    fid.catch(() => undefined); // seen by check(); never an unhandled rejection
    return {
      recheckMs: this.recheckMs,
      check: async () => {
        let end: number | undefined;
        try {
          end = await this.familyEnd(await fid);
        } catch (err) {
          // A token refused now was refused before the connection opened: nothing to keep.
          if (err instanceof GatewayError && err.status === 401)
            return { alive: false, reason: 'token not valid' };
          throw err;
        }
        if (end === undefined || end <= this.now()) return { alive: false, reason: 'terminal sign-in ended' };
        return { alive: true, expiresAt: end };
      },
    };
  }
}
