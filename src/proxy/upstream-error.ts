import { GatewayError, gatewayTimeout, serviceUnavailable } from '../errors.js';

/** The forwarder's code for an upstream answer it will not relay (upstream-response.ts). */
export const BAD_RESPONSE = 'EBADRESPONSE';

/** An upstream answer that cannot be relayed: a 502, as Go's ReverseProxy gives for one it cannot read. */
export function badUpstreamResponse(defect: string): GatewayError {
  return new GatewayError(502, 'BadGateway', `invalid response from the service: ${defect}`);
}

/**
 * The apiserver's wording: every transport failure is "error trying to reach service". A response
 * node's parser refused (`HPE_*`), or one the forwarder refused, is the upstream's fault, not the
 * network's: 502.
 */
export function upstreamError(err: NodeJS.ErrnoException): GatewayError {
  if (err.code === BAD_RESPONSE) return badUpstreamResponse(err.message);
  if (err.code?.startsWith('HPE_')) return badUpstreamResponse(err.message.replace(/^Parse Error: /, ''));
  const message = `error trying to reach service: ${err.message}`;
  if (err.code === 'ECONNECTTIMEOUT' || err.code === 'ERESPONSETIMEOUT') return gatewayTimeout(message);
  return serviceUnavailable(message);
}
