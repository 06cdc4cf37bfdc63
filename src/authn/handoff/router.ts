/**
 * The handoff's three steps (see README.md):
 *
 *   routed host   GET /.kube-bastion/signin?rd=/path
 *                 → sets a nonce in its own cookie, → publicURL /auth/handoff
 *   publicURL     GET /auth/handoff?host=…&rd=/path&state=digest
 *                 → signs in first if needed, mints a one-time handoff,
 *                 → routed host /.kube-bastion/callback?handoff=…
 *   routed host   GET /.kube-bastion/callback?handoff=…
 *                 → checks host, time, browser and single use, sets the
 *                 host-only cookie, → /path
 *
 * Every redirect says `Referrer-Policy: no-referrer` and `Cache-Control:
 * no-store`, and the last one drops the handoff from the URL. A handoff that
 * fails on the gateway's host once its state is good is shown at a clean URL
 * (failure.ts): no page of ours stays at a URL carrying a state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { GatewayError, badRequest, notFound } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { sendError } from '../../web/error-response.js';
import { safeRedirectTarget } from '../oidc/redirect-target.js';
import type { BrowserSessions } from '../session/browser-sessions.js';
import { SessionTooLargeError, requestCookies } from '../session/cookie-jar.js';
import type { SealedBox } from '../session/sealed-box.js';
import { bindNonce, heldNonces, spendNonce } from './browser-binding.js';
import { HandoffFailure, failureLocation, shownFailure } from './failure.js';
import type { HostSessions } from './host-sessions.js';
import { handoffOrigin, isGatewayHost, originOf } from './origins.js';
import { HANDOFF_PATH, HOST_CALLBACK_PATH, HOST_SIGNIN_PATH } from './paths.js';
import { HandoffError, checkHandoff, newHandoffId, newNonce, nonceDigest, type Handoff } from './ticket.js';
import type { UsedIds } from './used-ids.js';

export interface HandoffRouterOptions {
  publicURL: URL;
  loginPath: string;
  /** The gateway's own sessions (publicURL's cookie). */
  sessions: BrowserSessions;
  hosts: HostSessions;
  /** Seals handoffs (purpose `handoff`). */
  box: SealedBox;
  used: UsedIds;
  /** How long a handoff may wait to be redeemed (ms). */
  ttl: number;
  isRoutedHost: (host: string) => boolean;
  now: () => number;
  logger: Logger;
}

/** Longer than any real handoff (a large cookie-store user in the URL); refused before any decryption. */
const MAX_HANDOFF_CHARS = 12 * 1024;
const STATE = /^[A-Za-z0-9_-]{43}$/;
/** A return path on a routed host may be anything of the app's but the gateway's reserved prefix. */
const HOST_RESERVED = /^\/\.kube-bastion(\/|$)/i;

function asError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof SessionTooLargeError) return badRequest(`${err.message}, or ask your admin`);
  return badRequest('sign-in failed');
}

function noTrace(res: ServerResponse): void {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('referrer-policy', 'no-referrer');
}

export function createHandoffRouter(o: HandoffRouterOptions): express.Router {
  const router = express.Router();
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) =>
    sendError(req, res, asError(err), { publicURL: o.publicURL.href });
  /** The routed host's origin, or a 404: these paths mean nothing on the gateway's own host. */
  const hostOrigin = (req: IncomingMessage): string => {
    const origin = isGatewayHost(o.publicURL, req.headers.host)
      ? undefined
      : originOf(o.publicURL, req.headers.host);
    if (!origin) throw notFound('page', 'the server could not find the requested resource');
    return origin;
  };
  const returnPath = (rd: unknown, origin: string) =>
    safeRedirectTarget(rd, new URL(origin), '/', undefined, HOST_RESERVED);

  router.get(HOST_SIGNIN_PATH, (req, res) => {
    try {
      noTrace(res);
      const origin = hostOrigin(req);
      const nonce = newNonce();
      res.setHeader('set-cookie', bindNonce(o.hosts.cookies, requestCookies(req), nonce));
      const url = new URL(HANDOFF_PATH, o.publicURL);
      url.search = new URLSearchParams({
        host: req.headers.host!,
        rd: returnPath(req.query.rd, origin),
        state: nonceDigest(nonce),
      }).toString();
      res.redirect(302, url.href);
    } catch (err) {
      fail(req, res, err);
    }
  });

  router.get(HANDOFF_PATH, async (req, res) => {
    try {
      noTrace(res);
      const shown = shownFailure(req.query.failed);
      if (shown) throw shown;
      const host = typeof req.query.host === 'string' ? req.query.host : undefined;
      const origin = handoffOrigin(o.publicURL, host, o.isRoutedHost);
      // Refused as they came: a state no routed host would redeem here is worth nothing to anyone.
      if (!origin) throw badRequest('sign-in can only be handed to a host this gateway routes');
      const state = typeof req.query.state === 'string' && STATE.test(req.query.state) ? req.query.state : '';
      if (!state) throw badRequest('this sign-in link is incomplete; open the page you wanted again');
      let handoff: Awaited<ReturnType<typeof mint>>;
      try {
        handoff = await mint(req, res, origin, returnPath(req.query.rd, origin), state);
      } catch (err) {
        return leave(res, err);
      }
      if (!handoff) {
        return res.redirect(302, `${o.loginPath}?rd=${encodeURIComponent(req.originalUrl)}`);
      }
      o.logger.debug({ user: handoff.user, host: origin }, 'sign-in handed off to a routed host');
      res.redirect(302, `${origin}${HOST_CALLBACK_PATH}?handoff=${handoff.token}`);
    } catch (err) {
      fail(req, res, err);
    }
  });

  /** A handoff that could not be minted: the browser leaves this URL (and its state) for a clean one. */
  function leave(res: express.Response, err: unknown): void {
    o.logger.warn({ err: (err as Error)?.message }, 'sign-in could not be handed off');
    res.redirect(303, failureLocation(err));
  }

  /** A sealed handoff for the signed-in caller; undefined when they must sign in first. */
  async function mint(req: IncomingMessage, res: ServerResponse, origin: string, rd: string, st: string) {
    const identity = await o.sessions.authenticate(req, res).catch((err: unknown) => {
      if (err instanceof GatewayError && err.status === 401) return undefined; // its cookies are cleared
      throw err;
    });
    const { session, value } = await o.sessions.current(req);
    if (!identity || !session || value === undefined) return undefined;
    const { method: _method, ...user } = identity;
    const handoff: Handoff = {
      jti: newHandoffId(),
      exp: o.now() + o.ttl,
      rd,
      st,
      ticket: o.hosts.ticketFor(session, value, origin, user),
    };
    const token = await o.box.seal(handoff);
    // A URL this long would be refused (431) on the routed host: say why instead.
    if (token.length > MAX_HANDOFF_CHARS)
      throw new HandoffFailure('too-large', `a handoff of ${token.length} characters is too long for a URL`);
    return { token, user: user.username };
  }

  router.get(HOST_CALLBACK_PATH, async (req, res) => {
    try {
      noTrace(res);
      const origin = hostOrigin(req);
      // A HEAD (a link checker, a preview) must not spend a handoff meant for the browser.
      if (req.method !== 'GET')
        throw new GatewayError(405, 'MethodNotAllowed', 'open this link in a browser');
      const present = requestCookies(req);
      const opened = await open(req.query.handoff);
      const digest = (opened as Partial<Handoff> | undefined)?.st;
      const nonces = typeof digest === 'string' ? heldNonces(o.hosts.cookies, present, digest) : [];
      const handoff = checkHandoff(opened, { origin, now: o.now(), nonces });
      if (!(await o.used.claim(handoff.jti, handoff.exp)))
        throw new HandoffError(
          'replayed',
          'this sign-in link was already used; open the page you wanted again',
        );
      const lines = await o.hosts.cookieLines(handoff.ticket, present);
      res.setHeader('set-cookie', [...lines, spendNonce(o.hosts.cookies, handoff.st)]);
      res.redirect(302, handoff.rd);
    } catch (err) {
      if (!(err instanceof HandoffError)) return fail(req, res, err);
      o.logger.info({ reason: err.reason, host: req.headers.host }, 'handoff refused');
      fail(req, res, badRequest(err.message));
    }
  });

  async function open(token: unknown): Promise<unknown> {
    if (typeof token !== 'string' || token.length > MAX_HANDOFF_CHARS) return undefined;
    return o.box.open(token).catch(() => undefined);
  }

  return router;
}
