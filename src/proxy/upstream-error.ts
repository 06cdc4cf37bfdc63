import { GatewayError, gatewayTimeout, serviceUnavailable } from '../errors.js';

/** The apiserver's wording: every transport failure is "error trying to reach service". */
export function upstreamError(err: NodeJS.ErrnoException): GatewayError {
  const message = `error trying to reach service: ${err.message}`;
  if (err.code === 'ECONNECTTIMEOUT' || err.code === 'ERESPONSETIMEOUT') return gatewayTimeout(message);
  return serviceUnavailable(message);
}
