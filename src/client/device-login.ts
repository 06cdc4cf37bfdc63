/**
 * `kube-bastion login --device` (RFC 8628): for an SSH session or any
 * machine without a browser. The person opens the gateway's device page on
 * any device, enters the code shown here, sees what asks and confirms; this
 * process polls until then. The page URL is built from the origin the user
 * typed, never taken from the gateway's answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  displayUserCode,
  normalizeUserCode,
  TERMINAL_PATHS,
  type TokenResponse,
} from '../authn/terminal/protocol.js';
import { GatewayCallError, pollDeviceToken, startDeviceAuthorization } from './gateway-api.js';
import { LoginCancelledError } from './loopback-login.js';

export interface DeviceLoginOptions {
  clientName: string;
  print(text: string): void;
}

/** RFC 8628 §3.5. */
const SLOW_DOWN_STEP_MS = 5_000;

/**
 * How long to wait between polls: the gateway's `interval` (seconds), 5 s when it sent none or
 * something that is not a number (RFC 8628 §3.2; without this a missing one polled in a tight
 * loop), never under 1 s nor over a minute.
 */
export function pollIntervalMs(interval: unknown): number {
  const seconds = typeof interval === 'number' && Number.isFinite(interval) ? interval : 5;
  return Math.min(60, Math.max(1, seconds)) * 1000;
}

export async function deviceLogin(origin: string, o: DeviceLoginOptions): Promise<TokenResponse> {
  const start = await startDeviceAuthorization(origin, o.clientName);
  const code = normalizeUserCode(start.user_code);
  if (!code) throw new GatewayCallError('the gateway answered with a malformed user code', 200);
  const page = new URL(TERMINAL_PATHS.devicePage, origin);
  const complete = new URL(page);
  complete.searchParams.set('user_code', displayUserCode(code));
  const minutes = Math.max(1, Math.round((Number(start.expires_in) || 600) / 60));
  o.print(
    `To sign in, open this page on any device where you can sign in to ${origin}:\n\n` +
      `    ${page.href}\n\nand enter the code:\n\n    ${displayUserCode(code)}\n\n` +
      `(or open ${complete.href})\n` +
      `Check that the page shows "${o.clientName}" and confirm there. The code expires in ${minutes} minute${minutes === 1 ? '' : 's'}.\n`,
  );
  let interval = pollIntervalMs(start.interval);
  for (;;) {
    await sleep(interval);
    try {
      return await pollDeviceToken(origin, start.device_code);
    } catch (err) {
      if (!(err instanceof GatewayCallError)) throw err;
      if (err.code === 'authorization_pending') continue;
      if (err.code === 'slow_down') {
        interval += SLOW_DOWN_STEP_MS;
        continue;
      }
      if (err.code === 'access_denied')
        throw new LoginCancelledError('the sign-in was denied in the browser');
      if (err.code === 'expired_token')
        throw new LoginCancelledError(
          'nobody confirmed the code in time; run `kube-bastion login --device` again',
        );
      throw err;
    }
  }
}
