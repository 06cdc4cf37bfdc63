/**
 * Keeps web pages off `kube-bastion connect`'s loopback listener. Every
 * connection to it gets a tunnel opened with the person's token, and the
 * person's browser can connect to it too: a page that rebinds its own name to
 * 127.0.0.1 reads what is behind the tunnel, any site writes to it blind (a
 * no-cors POST). The gateway refuses tunnels to browsers (a handshake with an
 * Origin); this is the same rule one hop earlier, on the local program's
 * first bytes.
 *
 * Only an HTTP/1.x request is judged — the one thing a page can make a browser
 * send here — and only the first of a connection. Anything else passes as
 * soon as its first bytes cannot start one (request-head.ts). A request is a
 * browser's when it carries what browsers add and pages cannot take away
 * (`Sec-Fetch-*`, `Origin`, a `User-Agent: Mozilla/…`), or a Host that names a
 * DNS name with a port, which is what a rebinding page sends and cannot leave
 * out (Firefox lets a page set its User-Agent, and sends no `Sec-Fetch-*` to a
 * plain-http name). A browser's request passes only when it is the person's
 * own: a loopback Host, typed or same-origin (`Sec-Fetch-Site`), and any
 * Origin the page's own.
 */
import { printable } from '../printable.js';
import { readRequestStart, type HeaderField } from './request-head.js';

/** `more`: undecided, show me more bytes (never once the stream ended). */
export type GuardVerdict = 'more' | 'pass' | { refuse: string };

/** A head that has not ended within this many bytes is refused: a page's long URL would hide its headers. */
export const MAX_HEAD_BYTES = 16 * 1024;

/**
 * First bytes still undecided after this long without more are judged as they stand: a browser
 * writes a request's head at once, so only a program waits mid-line (ZooKeeper's `ruok`, sent
 * without a newline, waits for `imok`).
 */
export const JUDGE_WHEN_QUIET_MS = 250;

/** At most this much of a value a page chose goes into the line printed for the person. */
const SHOWN_CHARS = 64;

/** A header value for the refusal line: the line goes to the person's terminal. */
const shown = (value: string) => printable(value, SHOWN_CHARS);

function refuse(evidence: string): GuardVerdict {
  return {
    refuse: `refused a connection from a web browser (${evidence}): web pages may not use this tunnel`,
  };
}

/** A host as `Host` spells it: the name (an IPv6 literal keeps its brackets) and whether a port follows. */
function splitHost(value: string): { name: string; port: boolean } | undefined {
  const close = value.startsWith('[') ? value.indexOf(']') : -1;
  if (value.startsWith('[') && close === -1) return undefined;
  const colon = value.indexOf(':', close + 1);
  const name = colon === -1 ? value : value.slice(0, colon);
  const port = colon === -1 ? '' : value.slice(colon + 1);
  if (name === '' || (close !== -1 && close !== name.length - 1)) return undefined;
  if (colon !== -1 && !(port.length >= 1 && port.length <= 5 && isDigits(port))) return undefined;
  return { name, port: colon !== -1 };
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) < 0x30 || text.charCodeAt(i) > 0x39) return false;
  return text.length > 0;
}

/** Dotted decimal as a browser writes it (no leading zeros, 0–255): its four octets, else undefined. */
function ipv4(name: string): number[] | undefined {
  const parts = name.split('.', 5);
  if (parts.length !== 4) return undefined;
  const octets = parts.map((p) =>
    isDigits(p) && p.length <= 3 && (p === '0' || p[0] !== '0') ? Number(p) : 256,
  );
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/**
 * 127.0.0.0/8, [::1] or `localhost`, any port. Only these spellings: a browser
 * writes a URL's host so, and a name that merely looks like one (`localhost.`,
 * `127.0.0.1.attacker.example`) is resolved by DNS, which a page may control.
 */
function isLoopbackHost(value: string): boolean {
  const host = splitHost(value);
  if (!host) return false;
  return host.name.toLowerCase() === 'localhost' || host.name === '[::1]' || ipv4(host.name)?.[0] === 127;
}

/** A DNS name (not an IP literal, not loopback) with a port: a rebinding page's Host. */
function isNameWithPort(value: string): boolean {
  const host = splitHost(value);
  if (!host?.port || host.name.startsWith('[') || ipv4(host.name)) return false;
  return !isLoopbackHost(value);
}

function fromBrowser(fields: HeaderField[]): boolean {
  return fields.some(
    ({ name, value }) =>
      name.startsWith('sec-fetch-') ||
      name === 'origin' ||
      (name === 'user-agent' && value.startsWith('Mozilla/')) ||
      (name === 'host' && isNameWithPort(value)),
  );
}

/** A browser's request passes only when it is the person's own page's, at a loopback address. */
function judgeFields(fields: HeaderField[]): GuardVerdict {
  if (!fromBrowser(fields)) return 'pass';
  const all = (name: string) => fields.filter((f) => f.name === name).map((f) => f.value);
  const hosts = all('host');
  if (hosts.length === 0) return refuse('no Host');
  const foreign = hosts.find((h) => !isLoopbackHost(h));
  if (foreign !== undefined) return refuse(`Host ${shown(foreign)}`);
  const site = all('sec-fetch-site').find((s) => s !== 'none' && s !== 'same-origin');
  if (site !== undefined) return refuse(`Sec-Fetch-Site ${shown(site)}`);
  const origin = all('origin').find((o) => hosts.some((h) => o !== `http://${h}`));
  if (origin !== undefined) return refuse(`Origin ${shown(origin)}`);
  return 'pass';
}

/**
 * The verdict on a local connection's first bytes so far (`ended`: the local
 * program sent its FIN, no more will come). Pure; re-judging a longer head
 * is how a head split over several reads is read.
 */
export function judgeFirstBytes(head: Buffer, ended: boolean): GuardVerdict {
  const start = readRequestStart(head.subarray(0, MAX_HEAD_BYTES));
  if (start.kind === 'other') return 'pass';
  if (start.kind === 'request' && start.complete) return judgeFields(start.fields);
  if (head.length >= MAX_HEAD_BYTES) return refuse('a request head over 16 KiB');
  if (!ended) return 'more';
  // The whole stream is here and never became a full head: what lines there are is all a server gets.
  return start.kind === 'request' ? judgeFields(start.fields) : 'pass';
}
