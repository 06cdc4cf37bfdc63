/**
 * The portal at `/`: the signed-in person's reachable services (HTML), or the
 * same list as JSON for `Accept: application/json` — a per-user
 * `kubectl cluster-info`. Unauthenticated browsers are sent to sign in by the
 * shared 401 handling.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { V1Service } from '@kubernetes/client-node';
import express from 'express';
import type { Identity } from '../../request/identity.js';
import type { Authorizer } from '../../authz/types.js';
import type { RequestAttributes } from '../../request/attributes.js';
import { unauthorized } from '../../errors.js';
import type { ProxyPath } from '../../request/proxy-path.js';
import { renderPortalPage } from '../pages/portal-page.js';
import { sendPage } from '../pages/send.js';
import { buildListing, type LinkSettings } from './listing.js';
import { createReachableServices } from './reachable.js';

export { buildListing, type PortalListing } from './listing.js';
export { createReachableServices, type Reachable, type ReachableService } from './reachable.js';

export interface PortalDeps extends LinkSettings {
  services: () => readonly V1Service[];
  authorizer: Authorizer;
  attributes: (method: string, path: ProxyPath, identity: Identity, upgrade: boolean) => RequestAttributes;
  /** Identity of the request; undefined when it carries no credentials; throws 401 for bad ones. */
  authenticate(req: IncomingMessage, res?: ServerResponse): Promise<Identity | undefined>;
  /** The caller to assume without credentials (only with --insecure-no-auth). */
  anonymous?: Identity;
  /** Where the sign-out button posts; absent when there is no browser sign-in. */
  logoutPath?: string;
  /** Origins the sign-out form may end up at (the IdP's end-session redirect). */
  formTargets?: readonly string[];
  /** How long one person's list is reused. */
  cacheTTL?: number;
  /** `kube-bastion login <publicURL>`, shown when terminal sign-in is on. */
  terminalLogin?: string;
}

const MAX_QUERY = 200;

export function createPortal(deps: PortalDeps): express.Router & { answersCached(): number } {
  const reachable = createReachableServices({
    authorizer: deps.authorizer,
    attributes: deps.attributes,
    services: deps.services,
    hostRouting: deps.hostSuffix !== undefined,
    ttlMs: deps.cacheTTL,
  });
  const router = express.Router();

  router.get('/', async (req, res) => {
    const identity = (await deps.authenticate(req, res)) ?? deps.anonymous;
    if (!identity) throw unauthorized();
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, MAX_QUERY) : '';
    const listing = buildListing(identity, await reachable.forUser(identity, q), q, deps);
    res.vary('Accept');
    if (req.accepts(['html', 'json']) === 'json') {
      res.set('cache-control', 'no-store').json(listing);
      return;
    }
    const user = {
      username: identity.username,
      groups: identity.groups,
      logoutPath: identity.method === 'session' ? deps.logoutPath : undefined,
    };
    sendPage(req, res, 200, renderPortalPage(listing, user, deps.terminalLogin), {
      formTargets: deps.formTargets,
    });
  });

  /** Per-person answers held now (a bounded cache, for kube_bastion_cache_entries). */
  return Object.assign(router, { answersCached: () => reachable.size });
}
