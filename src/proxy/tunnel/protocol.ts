/**
 * The tunnel's wire, as both ends (the gateway and `kube-bastion connect`)
 * speak it over one WebSocket per TCP connection:
 *
 *   - binary messages carry the connection's bytes, unchanged, in order;
 *   - a text message `{"type":"end"}` says its sender will send no more bytes
 *     (TCP's FIN): the other side ends its write half and keeps reading, so a
 *     client that sends a request and half-closes still gets the whole answer;
 *   - other text messages are JSON objects with a `type`; an unknown type is
 *     ignored (later versions may add some), text that is not such an object
 *     is a protocol error;
 *   - the gateway closes the WebSocket with 1000 once both ends were relayed;
 *     every other close (codes below) means the stream was cut, and the client
 *     passes that on as an error (a reset), never as an end of data.
 *
 * The client offers the subprotocol below; the gateway selects it when
 * offered and speaks the same wire without it (raw WebSocket tools).
 */

export const TUNNEL_SUBPROTOCOL = 'v1.tunnel.kube-bastion.io';

/** Largest message either end accepts: the CLI sends at most one socket read (64 KiB) per message. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Close codes: RFC 6455 / IANA ones where they fit, 4000–4099 the gateway's own, 4100–4199 the client's. */
export const CLOSE = {
  /** Both directions ended and were relayed: the only close that is not an error. */
  NORMAL: 1000,
  /** The gateway is shutting down (or the CLI is stopping). */
  GOING_AWAY: 1001,
  /** The peer broke the wire rules above. */
  PROTOCOL_ERROR: 1002,
  /** The credential that opened the tunnel expired or was revoked. */
  CREDENTIAL_LAPSED: 1008,
  /** The backend connection broke mid-stream (reset, or an error). */
  BACKEND_ERROR: 1011,
  /** No endpoint accepted the connection (refused, unreachable, timed out). */
  BACKEND_UNREACHABLE: 1014,
  /** `tunnels.idleTimeout`: no byte in either direction for that long. */
  IDLE_TIMEOUT: 4000,
  /** `tunnels.maxLifetime`: the tunnel has been open that long. */
  MAX_LIFETIME: 4001,
  /** Sent by the client: its local connection failed or was reset. */
  CLIENT_ABORTED: 4100,
  /**
   * Sent by the client: it refused its local connection (a web browser's
   * request, client/connect/browser-guard.ts) before sending any of its bytes.
   * Its own code, not 4100: nothing failed, and the gateway's audit then tells
   * an admin that a page tried to use someone's tunnel.
   */
  CLIENT_REFUSED: 4101,
} as const;

/** A close reason as a WebSocket frame can carry it: at most 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

export type ControlMessage = { type: 'end' } | { type: string; [key: string]: unknown };

export const END_MESSAGE = JSON.stringify({ type: 'end' });

/** A text message as a control message; undefined when it is not a JSON object with a string `type`. */
export function parseControl(text: string): ControlMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' ? (value as ControlMessage) : undefined;
}

/** What a close code means, in the words the CLI prints after the gateway's reason. */
export function describeClose(code: number): string {
  switch (code) {
    case CLOSE.NORMAL:
      return 'closed';
    case CLOSE.GOING_AWAY:
      return 'the gateway is going away';
    case CLOSE.PROTOCOL_ERROR:
      return 'protocol error';
    case CLOSE.CREDENTIAL_LAPSED:
      return 'your credential is no longer valid';
    case CLOSE.BACKEND_ERROR:
      return 'the backend connection failed';
    case CLOSE.BACKEND_UNREACHABLE:
      return 'the backend could not be reached';
    case CLOSE.IDLE_TIMEOUT:
      return 'idle timeout';
    case CLOSE.MAX_LIFETIME:
      return 'maximum tunnel lifetime reached';
    case 1006:
      return 'the connection to the gateway was lost';
    default:
      return `closed with code ${code}`;
  }
}
