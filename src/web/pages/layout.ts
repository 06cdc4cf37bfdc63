/** Shared page shell for every page the gateway itself serves. */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title)} · kube-bastion</title><link rel="stylesheet" href="/_bastion/style.css"></head>
<body><main>${body}</main></body></html>`;
}
