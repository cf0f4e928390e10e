#!/usr/bin/env node
// Real-peer WebSocket client built on the Node `ws` package. Runs the interop
// MATRIX against an echo server (same checks as py_client.py and matrix.html).
//
// Usage:
//   node ws_client.js <ws-url> [--deflate] [--no-context-takeover]
//                     [--deflate-defaults] [--server-max-window-bits=N]
//                     [--client-max-window-bits=N] [--subprotocol=name] [--timeout=ms]
//
// --deflate sets both *NoContextTakeover options explicitly (false unless
// --no-context-takeover), so ws refuses a server's unsolicited
// client_no_context_takeover; --deflate-defaults instead keeps ws's default
// options (as `perMessageDeflate: true` does) apart from threshold 0.
//
// Prints exactly one JSON line on stdout:
//   {"ok":bool,"errors":[...],"close":{"code":N,"reason":"..."},
//    "protocol":"...","extensions":"<Sec-WebSocket-Extensions response header>"}
// and exits 0 only if ok.
'use strict';

const WebSocket = require('ws');

const SIZES = [0, 125, 126, 65535, 65536, 1048576];
const UTF8_UNIT = 'héllo wörld — 日本語 — 🎉 ';
const UTF8_REPEAT = 2000; // 74,000 bytes of UTF-8

const argv = process.argv.slice(2);
const url = argv.find((a) => !a.startsWith('--'));
const flag = (name) => argv.includes(`--${name}`);
const opt = (name, def) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
if (!url) {
  process.stderr.write('usage: node ws_client.js <ws-url> [--deflate] [--no-context-takeover] [--deflate-defaults] [--subprotocol=p] [--timeout=ms]\n');
  process.exit(2);
}

const result = { ok: false, errors: [], close: null, protocol: '', extensions: '' };
let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  result.ok = result.errors.length === 0;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}
setTimeout(() => {
  result.errors.push('timeout');
  finish();
}, Number(opt('timeout', 60000))).unref();

const noTakeover = flag('no-context-takeover');
// --server-max-window-bits=N / --client-max-window-bits=N: ws's
// serverMaxWindowBits / clientMaxWindowBits (offered; ws's zlib decoder
// then enforces the server's window).
const windowOpts = {};
if (opt('server-max-window-bits')) windowOpts.serverMaxWindowBits = Number(opt('server-max-window-bits'));
if (opt('client-max-window-bits')) windowOpts.clientMaxWindowBits = Number(opt('client-max-window-bits'));
const protocols = opt('subprotocol') ? [opt('subprotocol')] : [];
const ws = new WebSocket(url, protocols, {
  maxPayload: 64 << 20,
  perMessageDeflate: flag('deflate-defaults')
    ? { threshold: 0 }
    : flag('deflate')
      ? { threshold: 0, serverNoContextTakeover: noTakeover, clientNoContextTakeover: noTakeover, ...windowOpts }
      : false,
});

// Incoming messages are queued; next() resolves with the oldest one, or
// rejects once the connection is closed.
const inbox = [];
let waiter = null;
let closed = null; // {code, reason} once the close handshake is done
let closeWaiter = null;
ws.on('message', (data, isBinary) => {
  const msg = { data, isBinary };
  if (waiter) { const w = waiter; waiter = null; w.resolve(msg); } else inbox.push(msg);
});
ws.on('close', (code, reason) => {
  closed = { code, reason: reason.toString() };
  result.close = closed;
  if (waiter) { waiter.reject(new Error(`connection closed (${code} ${closed.reason})`)); waiter = null; }
  if (closeWaiter) closeWaiter();
});
// Record the negotiated extensions exactly as the server's 101 response sent them.
ws.on('upgrade', (res) => { result.extensions = res.headers['sec-websocket-extensions'] || ''; });
ws.on('error', (err) => result.errors.push(`ws error: ${err.message}`));

function next() {
  if (inbox.length) return Promise.resolve(inbox.shift());
  if (closed) return Promise.reject(new Error(`connection closed (${closed.code} ${closed.reason})`));
  return new Promise((resolve, reject) => { waiter = { resolve, reject }; });
}

function binaryOf(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

function textOf(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(32 + (i % 95));
  return s;
}

// Send one message and check the echo matches in type and content.
async function roundTrip(label, payload, isBinary) {
  ws.send(payload, { binary: isBinary });
  const m = await next();
  if (m.isBinary !== isBinary) {
    result.errors.push(`${label}: got ${m.isBinary ? 'binary' : 'text'} reply`);
  } else if (isBinary ? !m.data.equals(payload) : m.data.toString() !== payload) {
    result.errors.push(`${label}: echo differs (sent ${Buffer.byteLength(payload)} bytes, got ${m.data.length})`);
  }
}

async function run() {
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', () => reject(new Error('closed before open')));
  });
  result.protocol = ws.protocol;

  for (const n of SIZES) {
    await roundTrip(`binary ${n}`, binaryOf(n), true);
    await roundTrip(`text ${n}`, textOf(n), false);
  }
  await roundTrip('utf8 text', UTF8_UNIT.repeat(UTF8_REPEAT), false);

  // Server-initiated ping: ws answers with a pong automatically.
  ws.send('ping-me');
  const m = await next();
  if (m.isBinary || m.data.toString() !== 'pong-received') {
    result.errors.push(`ping-me: expected text "pong-received", got ${m.isBinary ? 'binary' : 'text'} ${JSON.stringify(m.data.toString().slice(0, 80))}`);
  }

  // Client-initiated ping: wait for the matching pong.
  await new Promise((resolve) => {
    const onPong = (payload) => {
      if (payload.toString() !== 'cli-ping') return;
      ws.off('pong', onPong);
      resolve();
    };
    ws.on('pong', onPong);
    ws.ping('cli-ping');
  });

  // Close handshake: expect the server to echo 4001/bye.
  await new Promise((resolve) => {
    closeWaiter = resolve;
    if (closed) resolve();
    else ws.close(4001, 'bye');
  });
  if (closed.code !== 4001 || closed.reason !== 'bye') {
    result.errors.push(`close: expected 4001 "bye", got ${closed.code} ${JSON.stringify(closed.reason)}`);
  }
}

run().then(finish, (err) => {
  result.errors.push(err.message);
  finish();
});
