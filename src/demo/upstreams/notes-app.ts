/**
 * A small web app that knows nothing about kube-bastion: it writes
 * root-relative links (`/about`), posts a form to `/notes` and answers with a
 * root-relative redirect. Through the path form it only works because the
 * gateway rewrites those URLs to keep the `/api/v1/…/proxy` prefix.
 */
import http from 'node:http';
import { Raw, html, readForm, send } from '../loopback.js';

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}label{display:block;font-weight:600}';

function layout(title: string, body: string): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="stylesheet" href="/static/app.css" />
      </head>
      <body>
        <nav><a href="/">Notes</a> · <a href="/about">About</a></nav>
        ${new Raw(body)}
      </body>
    </html>`;
}

export function createNotesApp(): http.Server {
  const notes: string[] = [];
  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    const user = req.headers['x-forwarded-user'] ?? 'someone';
    if (req.method === 'GET' && url.pathname === '/') {
      const items = notes.map((n) => html`<li>${n}</li>`).join('');
      return send(
        res,
        200,
        'text/html; charset=utf-8',
        layout(
          'Notes',
          html`<h1>Team notes</h1>
            <p>Hello, <strong id="user">${String(user)}</strong>.</p>
            <form method="post" action="/notes">
              <label for="note">New note</label><input id="note" name="note" required />
              <button type="submit">Add note</button>
            </form>
            <ul id="notes">
              ${new Raw(items)}
            </ul>`,
        ),
      );
    }
    if (req.method === 'GET' && url.pathname === '/about') {
      return send(
        res,
        200,
        'text/html; charset=utf-8',
        layout(
          'About',
          '<h1>About this app</h1><p>Every link here is root-relative, like <code>/about</code>. The gateway rewrites them so they stay behind its proxy prefix.</p>',
        ),
      );
    }
    if (req.method === 'GET' && url.pathname === '/static/app.css') return send(res, 200, 'text/css', STYLE);
    if (req.method === 'POST' && url.pathname === '/notes') {
      const note = (await readForm(req)).get('note')?.trim();
      if (note) notes.push(`${note} (${String(user)})`);
      res.writeHead(303, { location: '/' });
      return res.end();
    }
    send(res, 404, 'text/plain', 'not found\n');
  });
}
