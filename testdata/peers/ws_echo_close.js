#!/usr/bin/env node
// A short Node `ws` client session, for the deployment tests (through
// reverse proxies): a text echo, a 1 MiB binary echo, then a close with
// 4001 "bye" that the server must echo.
//
// Usage:
//   node ws_echo_close.js <ws-url> [--timeout=ms]
//
// Prints one JSON line on stdout, {"ok":bool,"errors":[...],
// "close":{"code":N,"reason":"..."}}, and exits 0 only if ok.
// NODE_EXTRA_CA_CERTS makes Node trust a test CA for wss:// URLs.
'use strict';

const WebSocket = require('ws');

const argv = process.argv.slice(2);
const url = argv.find((a) => !a.startsWith('--'));
const t = argv.find((a) => a.startsWith('--timeout='));
if (!url) {
  process.stderr.write('usage: node ws_echo_close.js <ws-url> [--timeout=ms]\n');
  process.exit(2);
}

const result = { ok: false, errors: [], close: null };
function finish() {
  result.ok = result.errors.length === 0;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}
setTimeout(() => {
  result.errors.push('timeout');
  finish();
}, t ? Number(t.slice('--timeout='.length)) : 60000).unref();

const ws = new WebSocket(url, { maxPayload: 4 << 20, perMessageDeflate: false });
const inbox = [];
let waiter = null;
ws.on('message', (data, isBinary) => {
  const m = { data, isBinary };
  if (waiter) { const w = waiter; waiter = null; w(m); } else inbox.push(m);
});
const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => { waiter = r; }));
const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
ws.on('error', (err) => { result.errors.push(`ws error: ${err.message}`); finish(); });

async function run() {
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send('hello through the proxy');
  let m = await next();
  if (m.isBinary || m.data.toString() !== 'hello through the proxy') result.errors.push('text echo differs');
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  ws.send(big, { binary: true });
  m = await next();
  if (!m.isBinary || !m.data.equals(big)) result.errors.push(`1 MiB binary echo differs (${m.data.length} bytes)`);
  ws.close(4001, 'bye');
  result.close = await closed;
  if (result.close.code !== 4001 || result.close.reason !== 'bye') {
    result.errors.push(`close: got ${result.close.code} ${JSON.stringify(result.close.reason)}, want 4001 "bye"`);
  }
}

run().then(finish, (err) => { result.errors.push(err.message); finish(); });
