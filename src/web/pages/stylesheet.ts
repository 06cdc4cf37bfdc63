/**
 * The one small stylesheet of every page the gateway serves (no build step,
 * served from /_bastion/style.css so the CSP needs no inline styles).
 * Colours meet WCAG AA contrast in both light and dark schemes (test/web/accessibility-browser.test.ts
 * measures them); the placeholder is set because Chromium's own grey is 4.1:1 on the dark background.
 */
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --accent: #0a55a3; --accent-fg: #ffffff; --line: #d0d7de; --card: #f6f8fa; --warn-bg: #fff8c5; --warn-line: #d4a72c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9da7b3; --accent: #58a6ff; --accent-fg: #0d1117; --line: #30363d; --card: #161b22; --warn-bg: #2e2610; --warn-line: #9e6a03; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
.skip { position: absolute; left: -999px; top: 0; background: var(--accent); color: var(--accent-fg); padding: 0.5rem 1rem; z-index: 1; }
.skip:focus { left: 0.5rem; top: 0.5rem; }
header.top { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; justify-content: space-between; max-width: 60rem; margin: 0 auto; padding: 0.75rem 1rem; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
.who { display: flex; flex-wrap: wrap; gap: 0.5rem 0.75rem; align-items: center; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.75rem 0 0.5rem; border-bottom: 1px solid var(--line); padding-bottom: 0.25rem; }
h3 { font-size: 1.05rem; margin: 0 0 0.25rem; overflow-wrap: anywhere; }
a { color: var(--accent); text-underline-offset: 0.15em; }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
p { margin: 0.5rem 0; }
.muted { color: var(--muted); }
.status { color: var(--muted); font-weight: 600; margin: 0.5rem 0 0; }
.lead { font-size: 1.1rem; font-weight: 600; }
.message { font-family: ui-monospace, monospace; font-size: 0.9rem; background: var(--card); border: 1px solid var(--line); padding: 0.5rem 0.75rem; border-radius: 6px; overflow-wrap: anywhere; }
.alert { background: var(--warn-bg); border: 1px solid var(--warn-line); border-radius: 6px; padding: 0.5rem 0.75rem; margin: 1rem 0; }
.alert h2 { border: 0; margin: 0 0 0.25rem; font-size: 1.1rem; }
.button, button { display: inline-block; font: inherit; min-height: 2.5rem; padding: 0.45rem 0.9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); text-decoration: none; cursor: pointer; }
.button.secondary, button.secondary { background: transparent; color: var(--accent); }
form.inline { display: inline; margin: 0; }
ul.users { padding-left: 1.25rem; }
form.login { max-width: 24rem; }
ul.methods { list-style: none; padding: 0; display: grid; gap: 0.75rem; margin: 1.25rem 0; }
form.search { margin: 1rem 0 0.5rem; }
form.search .row { display: flex; gap: 0.5rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
input[type=search], input[type=text], input[type=password], input:not([type]) { flex: 1; width: 100%; max-width: 100%; min-width: 0; font: inherit; min-height: 2.5rem; padding: 0.45rem 0.6rem; border: 1px solid var(--muted); border-radius: 6px; background: var(--bg); color: var(--fg); }
::placeholder { color: var(--muted); opacity: 1; }
ul.services { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.5rem; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); }
ul.services li { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.8rem; }
ul.services .ports a, ul.services .host a { display: inline-block; padding: 0.2rem 0; margin-right: 0.75rem; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1rem; margin: 1rem 0; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.code { font-family: ui-monospace, monospace; font-size: 1.2rem; letter-spacing: 0.1em; }
form.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 1.25rem 0; }
pre.terminal { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.75rem; overflow-x: auto; }
ul.services code.connect { display: block; user-select: all; overflow-wrap: anywhere; padding: 0.15rem 0; }
@media (max-width: 30rem) { h1 { font-size: 1.35rem; } main { padding-top: 0.75rem; } }
`;
