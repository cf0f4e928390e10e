#!/usr/bin/env node
// Sends one binary message of <bytes> to <ws-url> with Node's `ws` and
// reports the close code the server's close frame carried (1006 when the
// connection ended without one, for example by a reset).
//
// Usage: node ws_oversize.js <ws-url> <bytes> [--timeout=ms]
// Prints one JSON line: {"code":N,"reason":"...","error":"..."}
'use strict';

const WebSocket = require('ws');

const argv = process.argv.slice(2);
const url = argv[0];
const size = parseInt(argv[1], 10);
const timeoutArg = argv.find((a) => a.startsWith('--timeout='));
const timeout = timeoutArg ? parseInt(timeoutArg.slice(10), 10) : 15000;

const result = { code: 0, reason: '', error: '' };
const ws = new WebSocket(url, { maxPayload: 0 });
const timer = setTimeout(() => {
  result.error = `no close within ${timeout} ms`;
  finish();
}, timeout);
function finish() {
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}
ws.on('open', () => ws.send(Buffer.alloc(size, 0x61), { binary: true }));
ws.on('error', (err) => { result.error = String(err && err.message); });
ws.on('close', (code, reason) => {
  result.code = code;
  result.reason = reason.toString();
  finish();
});
