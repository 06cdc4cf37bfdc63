/**
 * A tiny key-value server over plain TCP, to show `kube-bastion connect`:
 * it speaks enough of the Redis protocol for `redis-cli` (PING, ECHO, SET,
 * GET, DEL, KEYS) and takes the same commands as text lines, so `nc` or
 * `telnet` work too. In memory, small and bounded: for trying things out.
 */
import net from 'node:net';

const MAX_KEYS = 1000;
const MAX_BUFFERED = 64 * 1024;

type Reply = { simple: string } | { error: string } | { bulk: string | null } | { array: string[] };

function encode(reply: Reply): string {
  if ('simple' in reply) return `+${reply.simple}\r\n`;
  if ('error' in reply) return `-${reply.error}\r\n`;
  if ('array' in reply)
    return `*${reply.array.length}\r\n${reply.array.map((s) => encode({ bulk: s })).join('')}`;
  if (reply.bulk === null) return '$-1\r\n';
  return `$${reply.bulk.length}\r\n${reply.bulk}\r\n`;
}

function run(store: Map<string, string>, args: string[]): Reply {
  const [command = '', ...rest] = args;
  switch (command.toUpperCase()) {
    case 'PING':
      return rest.length ? { bulk: rest[0] } : { simple: 'PONG' };
    case 'ECHO':
      return { bulk: rest[0] ?? '' };
    case 'SET':
      if (rest.length < 2) return { error: 'ERR usage: SET key value' };
      if (!store.has(rest[0]) && store.size >= MAX_KEYS) return { error: 'ERR the demo store is full' };
      store.set(rest[0], rest[1]);
      return { simple: 'OK' };
    case 'GET':
      return { bulk: store.get(rest[0] ?? '') ?? null };
    case 'DEL':
      return { simple: String(rest.filter((k) => store.delete(k)).length) };
    case 'KEYS':
      return { array: [...store.keys()] };
    case 'COMMAND': // redis-cli asks on start; an empty answer is fine
      return { array: [] };
    default:
      return { error: `ERR unknown command '${command}' (try PING, SET, GET, DEL, KEYS)` };
  }
}

/**
 * One request from the front of `buffer`: a RESP array of bulk strings, or an
 * inline line. Returns undefined when more bytes are needed.
 */
export function nextCommand(buffer: string): { args: string[]; rest: string } | undefined {
  if (!buffer.startsWith('*')) {
    const end = buffer.indexOf('\n');
    if (end === -1) return undefined;
    return { args: buffer.slice(0, end).trim().split(/\s+/).filter(Boolean), rest: buffer.slice(end + 1) };
  }
  let at = buffer.indexOf('\r\n');
  if (at === -1) return undefined;
  const count = Number(buffer.slice(1, at));
  const args: string[] = [];
  let pos = at + 2;
  for (let i = 0; i < count; i++) {
    at = buffer.indexOf('\r\n', pos);
    if (at === -1) return undefined;
    const length = Number(buffer.slice(pos + 1, at));
    const start = at + 2;
    if (buffer.length < start + length + 2) return undefined;
    args.push(buffer.slice(start, start + length));
    pos = start + length + 2;
  }
  return { args, rest: buffer.slice(pos) };
}

/** The server; `closeAllConnections()` as http.Server has it, so the demo stops it the same way. */
export function createKeyValueServer(): net.Server & { closeAllConnections(): void } {
  const store = new Map<string, string>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let buffer = '';
    // latin1: one character per byte, so RESP's byte lengths are string lengths (and any bytes round-trip).
    socket.setEncoding('latin1');
    const reply = (r: Reply) => Buffer.from(encode(r), 'latin1');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_BUFFERED) return void socket.end(reply({ error: 'ERR request too large' }));
      for (let next = nextCommand(buffer); next; next = nextCommand(buffer)) {
        buffer = next.rest;
        if (next.args.length === 0) continue;
        if (next.args[0].toUpperCase() === 'QUIT') return void socket.end(reply({ simple: 'OK' }));
        socket.write(reply(run(store, next.args)));
      }
    });
  });
  return Object.assign(server, {
    closeAllConnections() {
      for (const socket of sockets) socket.destroy();
    },
  });
}
