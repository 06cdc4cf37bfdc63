/**
 * Where, in the bytes going to a WebSocket client, a frame of the gateway's
 * own (a close frame) may be put without cutting a frame of the backend's in
 * two: after the upgrade response head, between frames. Only frame headers
 * are read (RFC 6455 §5.2); payloads are skipped by length, so the cost is a
 * few comparisons per frame whatever its size.
 */

const HEAD_END = [0x0d, 0x0a, 0x0d, 0x0a]; // \r\n\r\n
const SWITCHING = /^HTTP\/1\.[01] 101 /;

export class FrameBoundary {
  /** `refused`: the backend answered with a plain HTTP response; its body is no frames. */
  private phase: 'head' | 'frames' | 'refused' = 'head';
  private headStart = '';
  private headMatched = 0;
  private readonly header: number[] = [];
  private headerLength = 2;
  private payloadLeft = 0;

  /** A 101 response head has gone by: what follows are frames. */
  get upgraded(): boolean {
    return this.phase === 'frames';
  }

  /** Between two frames: a frame may be inserted here. */
  get atBoundary(): boolean {
    return this.phase === 'frames' && this.header.length === 0 && this.payloadLeft === 0;
  }

  /**
   * Reads `chunk`. With `untilBoundary`, stops at the first frame boundary
   * and returns how many bytes come before it (0 when already at one);
   * otherwise reads it all and returns its length.
   */
  consume(chunk: Uint8Array, untilBoundary = false): number {
    let i = 0;
    while (i < chunk.length) {
      if (untilBoundary && this.atBoundary) return i;
      if (this.phase === 'refused') return chunk.length;
      if (this.phase === 'head') i = this.readHead(chunk, i);
      else if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= n;
        i += n;
      } else i = this.readHeader(chunk, i);
    }
    return i;
  }

  private readHead(chunk: Uint8Array, i: number): number {
    const byte = chunk[i];
    if (this.headStart.length < 13) this.headStart += String.fromCharCode(byte);
    this.headMatched = byte === HEAD_END[this.headMatched] ? this.headMatched + 1 : byte === 0x0d ? 1 : 0;
    if (this.headMatched === HEAD_END.length)
      this.phase = SWITCHING.test(this.headStart) ? 'frames' : 'refused';
    return i + 1;
  }

  private readHeader(chunk: Uint8Array, i: number): number {
    this.header.push(chunk[i]);
    if (this.header.length === 2) {
      const len7 = this.header[1] & 0x7f;
      const masked = (this.header[1] & 0x80) !== 0;
      this.headerLength = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    }
    if (this.header.length >= 2 && this.header.length === this.headerLength) {
      this.payloadLeft = payloadLength(this.header);
      this.header.length = 0;
    }
    return i + 1;
  }
}

function payloadLength(h: number[]): number {
  const len7 = h[1] & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (h[2] << 8) | h[3];
  let n = 0;
  for (let k = 2; k < 10; k++) n = n * 256 + h[k];
  return n;
}

/** An unmasked server-to-client close frame (RFC 6455 §5.5.1); the reason is cut to fit 125 bytes. */
export function closeFrame(code: number, reason: string): Buffer {
  let text = Buffer.from(reason, 'utf8');
  if (text.length > 123) text = Buffer.from(reason.slice(0, 60), 'utf8').subarray(0, 123);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88; // FIN + opcode 8 (close)
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
