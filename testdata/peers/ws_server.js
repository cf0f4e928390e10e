#!/usr/bin/env node
// Real-peer WebSocket server built on the Node `ws` package, driven by the Go
// interop tests.
//
// Usage:
//   node ws_server.js [--mode=echo|hello|malformed] [--frame=KIND]
//                     [--deflate|--no-deflate] [--no-context-takeover]
//                     [--deflate-defaults] [--server-max-window-bits=N]
//                     [--client-max-window-bits=N] [--subprotocols=a,b]
//
// --deflate sets both *NoContextTakeover options explicitly (false unless
// --no-context-takeover), so ws answers an offer of server_no_context_takeover
// with 400; --deflate-defaults instead keeps ws's default options (as
// `perMessageDeflate: true` does) apart from threshold 0.
//
// stdout protocol (one event per line; the first line is always LISTEN):
//   LISTEN <port>                         listening on 127.0.0.1:<port>
//   OPEN <path> <subprotocol|-> <extensions|->  per accepted connection
//                                         (extensions = the Sec-WebSocket-Extensions response header)
//   ERROR <ws error code> <message>       ws detected a protocol error from the peer
//   PEERCLOSE <code>                      malformed mode: close code sent by the peer
//                                         (1005 = empty close frame, 1006 = no close frame,
//                                          "timeout" = peer did not close within 10s)
//   CLOSED <code> <reason>                per connection, when it is fully closed
'use strict';

const { WebSocketServer } = require('ws');

const args = parseArgs(process.argv.slice(2));
const mode = args.mode || 'echo';
if (!['echo', 'hello', 'malformed'].includes(mode)) die(`unknown --mode=${mode}`);

// Raw server-to-client frames (unmasked, as a server sends them) that a
// conforming client must reject by failing the connection.
const MALFORMED = {
  opcode3: [0x83, 0x00], // reserved data opcode 0x3 -> 1002
  opcodeb: [0x8b, 0x00], // reserved control opcode 0xB -> 1002
  ping126: [0x89, 0x7e, 0x00, 0x7e, ...new Array(126).fill(0x61)], // control payload > 125 -> 1002
  fragping: [0x09, 0x00], // control frame with FIN=0 -> 1002
  rsv1: [0xc1, 0x01, 0x61], // RSV1 without a negotiated extension -> 1002
  rsv2: [0xa1, 0x01, 0x61], // RSV2 set -> 1002
  badcont: [0x80, 0x01, 0x61], // continuation frame with no message in progress -> 1002
  nocont: [0x01, 0x01, 0x61, 0x81, 0x01, 0x62], // new text frame while a fragmented message is open -> 1002
  badutf8: [0x81, 0x02, 0xc3, 0x28], // invalid UTF-8 in a text message -> 1007
  masked: [0x81, 0x81, 0x01, 0x02, 0x03, 0x04, 0x60], // masked server frame -> 1002
  close1: [0x88, 0x01, 0x03], // close payload of 1 byte -> 1002
  close1005: [0x88, 0x02, 0x03, 0xed], // close code 1005 on the wire -> 1002
  closeutf8: [0x88, 0x04, 0x03, 0xe8, 0xc3, 0x28], // close reason not UTF-8 -> 1007 (or 1002)
  len64msb: [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0], // 64-bit length with MSB set -> 1002/1009
};
const frameKind = args.frame || 'opcode3';
if (mode === 'malformed' && !MALFORMED[frameKind]) {
  die(`unknown --frame=${frameKind}; known: ${Object.keys(MALFORMED).join(',')}`);
}

const deflate = Boolean(args.deflate) && !args['no-deflate'];
const noTakeover = Boolean(args['no-context-takeover']);
// --server-max-window-bits=N / --client-max-window-bits=N: ws's
// serverMaxWindowBits / clientMaxWindowBits (with --deflate).
const windowOpts = {};
if (args['server-max-window-bits']) windowOpts.serverMaxWindowBits = Number(args['server-max-window-bits']);
if (args['client-max-window-bits']) windowOpts.clientMaxWindowBits = Number(args['client-max-window-bits']);
const subprotocols = args.subprotocols ? String(args.subprotocols).split(',') : [];

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 << 20,
  // threshold 0: compress every message, so small frames exercise deflate too.
  perMessageDeflate: args['deflate-defaults']
    ? { threshold: 0 }
    : deflate
      ? { threshold: 0, serverNoContextTakeover: noTakeover, clientNoContextTakeover: noTakeover, ...windowOpts }
      : false,
  // Pick the first of our protocols that the client offered (server preference).
  handleProtocols: (offered) => subprotocols.find((p) => offered.has(p)) || false,
});

wss.on('listening', () => out(`LISTEN ${wss.address().port}`));
// Remember the exact Sec-WebSocket-Extensions response header (with params).
const extHeader = new WeakMap();
wss.on('headers', (headers, req) => {
  const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
  if (h) extHeader.set(req, h.slice(h.indexOf(':') + 1).trim());
});
wss.on('error', (err) => die(err.message));

wss.on('connection', (ws, req) => {
  out(`OPEN ${req.url} ${ws.protocol || '-'} ${extHeader.get(req) || '-'}`);
  ws.on('error', (err) => out(`ERROR ${err.code || '-'} ${err.message}`));
  ws.on('close', (code, reason) => {
    if (mode === 'malformed') out(`PEERCLOSE ${code}`);
    out(`CLOSED ${code}${reason.length ? ' ' + reason.toString() : ''}`);
  });

  if (mode === 'malformed') {
    // Bypass ws's framing and write the bad bytes straight to the TCP socket.
    ws._socket.write(Buffer.from(MALFORMED[frameKind]));
    const timer = setTimeout(() => {
      out('PEERCLOSE timeout');
      ws.terminate();
    }, 10000);
    ws.on('close', () => clearTimeout(timer));
    return;
  }

  ws.on('message', (data, isBinary) => {
    if (mode === 'hello') {
      ws.send('Hello, Client!');
      return;
    }
    if (!isBinary) {
      const text = data.toString();
      if (text === 'ping-me') {
        // Server-initiated ping; report back once the matching pong arrives.
        const onPong = (payload) => {
          if (payload.toString() !== 'srv-ping') return;
          ws.off('pong', onPong);
          ws.send('pong-received');
        };
        ws.on('pong', onPong);
        ws.ping('srv-ping');
        return;
      }
      const m = /^close-me (\d+)(?: ([\s\S]*))?$/.exec(text);
      if (m) {
        try {
          ws.close(Number(m[1]), m[2] || '');
        } catch (err) {
          process.stderr.write(`close-me: ${err.message}\n`);
          ws.close(1011, 'bad close-me request');
        }
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));

function out(line) {
  process.stdout.write(line + '\n');
}

function die(msg) {
  process.stderr.write(`ws_server: ${msg}\n`);
  process.exit(2);
}

// --key=value / --flag parser (no positional arguments).
function parseArgs(argv) {
  const res = {};
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) die(`unexpected argument ${a}`);
    res[m[1]] = m[2] === undefined ? true : m[2];
  }
  return res;
}
