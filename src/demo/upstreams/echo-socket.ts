/**
 * A WebSocket echo with a one-page client, to show upgrades going through
 * the gateway. The page connects to `ws` relative to its own URL, so it works
 * under the proxy prefix without any rewriting.
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { send } from '../loopback.js';

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Echo</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">
<h1>WebSocket echo</h1><form id="f"><label for="m">Message</label> <input id="m" value="hello"> <button>Send</button></form>
<p>Status: <span id="status">connecting…</span></p><ul id="log"></ul>
<script>
const url = new URL('ws', location.href); url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const ws = new WebSocket(url); const log = (t) => { const li = document.createElement('li'); li.textContent = t; document.getElementById('log').append(li); };
ws.onopen = () => { document.getElementById('status').textContent = 'connected'; };
ws.onclose = () => { document.getElementById('status').textContent = 'closed'; };
ws.onmessage = (e) => log(e.data);
document.getElementById('f').onsubmit = (e) => { e.preventDefault(); ws.send(document.getElementById('m').value); };
</script></body></html>`;

export function createEchoSocket(): http.Server {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url?.startsWith('/?')))
      return send(res, 200, 'text/html; charset=utf-8', PAGE);
    send(res, 404, 'text/plain', 'not found\n');
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket, req) => {
    const user = req.headers['x-forwarded-user'] ?? 'someone';
    socket.send(`hello ${String(user)}, send me something`);
    socket.on('message', (data: Buffer) => socket.send(`echo: ${data.toString('utf8')}`));
  });
  // Upgraded sockets no longer belong to the HTTP server, so closing it must end them too.
  const closeHTTP = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    return closeHTTP(callback);
  };
  return server;
}
