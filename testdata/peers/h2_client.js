#!/usr/bin/env node
// WebSocket client over HTTP/2 (RFC 8441 extended CONNECT), written on Node's
// own http2 module, for the Go HTTP/2 tests (http2_test.go).
//
// Usage:
//   node h2_client.js <https-url-of-the-ws-endpoint (http:// for h2c)> [--mode=echo|malformed] [--timeout=ms]
//
// It connects with certificate checks off, waits for the server's SETTINGS
// and checks SETTINGS_ENABLE_CONNECT_PROTOCOL, then:
//
//   echo       opens several WebSocket streams on the one HTTP/2 connection
//              (A offers the "chat" subprotocol, B permessage-deflate, C is
//              plain, D sends a same-origin Origin, U goes to ?path's
//              /upgrade variant), asks each "whoami", echoes text and binary
//              messages of several sizes (64 KiB and more included) on all of
//              them at once, sends a fragmented message and a ping, closes C
//              with a close handshake (1000) half-way while the others keep
//              echoing, then closes the others.
//   malformed  sends extended CONNECT requests the server must refuse
//              (missing or wrong version, bad :protocol, foreign Origin,
//              malformed extensions) and one good one, and reports the
//              answers.
//
// Prints one JSON line {ok, errors, enableConnectProtocol, streams|answers}
// and exits 0 only if ok (in malformed mode: if every request got an answer;
// the Go test judges the statuses).
'use strict';

const http2 = require('http2');
const zlib = require('zlib');
const crypto = require('crypto');

const argv = process.argv.slice(2);
const target = new URL(argv.find((a) => !a.startsWith('--')) || '');
const opt = (name, def) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const mode = opt('mode', 'echo');
const timeout = Number(opt('timeout', '60000'));

const result = { ok: false, errors: [], enableConnectProtocol: null };
const fail = (msg) => result.errors.push(msg);

// ---- WebSocket framing over one HTTP/2 stream ----

const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

class WS {
  constructor(name, stream, deflate) {
    this.name = name;
    this.stream = stream;
    this.deflate = deflate; // no context takeover in either direction
    this.buf = Buffer.alloc(0);
    this.frag = null; // {op, compressed, parts}
    this.queue = []; // {type:'message'|'pong'|'close'|'end'|'error', ...}
    this.waiter = null;
    this.closeSent = false;
    stream.on('data', (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      try {
        this.parse();
      } catch (err) {
        this.push({ type: 'error', error: err.message });
      }
    });
    stream.on('end', () => this.push({ type: 'end' }));
    stream.on('error', (err) => this.push({ type: 'error', error: err.message }));
    stream.on('close', () => this.push({ type: 'streamclose', rstCode: stream.rstCode }));
  }

  push(ev) {
    this.queue.push(ev);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }

  // next resolves with the next event, skipping nothing.
  async next(ms = 20000) {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: nothing received within ${ms} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.queue.shift();
  }

  // nextOf resolves with the next event of the given type; a message, close
  // or stream end of another kind is an error.
  async nextOf(type, ms) {
    for (;;) {
      const ev = await this.next(ms);
      if (ev.type === type) return ev;
      throw new Error(`${this.name}: wanted ${type}, got ${JSON.stringify(ev).slice(0, 200)}`);
    }
  }

  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const rsv1 = (b[0] & 0x40) !== 0;
      if (b[0] & 0x30) throw new Error('RSV2/RSV3 set by the server');
      const op = b[0] & 0x0f;
      if (b[1] & 0x80) throw new Error('masked frame from the server');
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const payload = b.subarray(off, off + len);
      this.buf = b.subarray(off + len);
      this.frame(fin, rsv1, op, Buffer.from(payload));
    }
  }

  frame(fin, rsv1, op, payload) {
    if (op >= 8) {
      if (!fin || payload.length > 125) throw new Error('bad control frame');
      if (op === OP.ping) this.send(OP.pong, payload);
      else if (op === OP.pong) this.push({ type: 'pong', data: payload.toString() });
      else if (op === OP.close) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.push({ type: 'close', code, reason: payload.subarray(2).toString() });
      } else throw new Error(`reserved control opcode ${op}`);
      return;
    }
    if (op === OP.cont) {
      if (!this.frag) throw new Error('continuation without a message');
      if (rsv1) throw new Error('RSV1 on a continuation frame');
      this.frag.parts.push(payload);
    } else if (op === OP.text || op === OP.binary) {
      if (this.frag) throw new Error('new message inside a fragmented one');
      if (rsv1 && !this.deflate) throw new Error('RSV1 without permessage-deflate');
      this.frag = { op, compressed: rsv1, parts: [payload] };
    } else throw new Error(`reserved data opcode ${op}`);
    if (!fin) return;
    let data = Buffer.concat(this.frag.parts);
    if (this.frag.compressed) {
      data = zlib.inflateRawSync(Buffer.concat([data, Buffer.from([0, 0, 0xff, 0xff])]), {
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      this.compressedIn = (this.compressedIn || 0) + 1;
    }
    this.push({ type: 'message', op: this.frag.op, data });
    this.frag = null;
  }

  // send writes one masked frame.
  send(op, payload, { fin = true, compress = false } = {}) {
    let body = Buffer.from(payload);
    let rsv1 = 0;
    if (compress) {
      const c = zlib.deflateRawSync(body, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      body = c.subarray(0, c.length - 4); // drop 00 00 ff ff (RFC 7692 7.2.1)
      rsv1 = 0x40;
    }
    let hdr;
    if (body.length < 126) {
      hdr = Buffer.alloc(2);
      hdr[1] = 0x80 | body.length;
    } else if (body.length < 65536) {
      hdr = Buffer.alloc(4);
      hdr[1] = 0x80 | 126;
      hdr.writeUInt16BE(body.length, 2);
    } else {
      hdr = Buffer.alloc(10);
      hdr[1] = 0x80 | 127;
      hdr.writeBigUInt64BE(BigInt(body.length), 2);
    }
    hdr[0] = (fin ? 0x80 : 0) | rsv1 | op;
    const key = crypto.randomBytes(4);
    const masked = Buffer.alloc(body.length);
    for (let i = 0; i < body.length; i++) masked[i] = body[i] ^ key[i & 3];
    this.stream.write(Buffer.concat([hdr, key, masked]));
  }

  sendMessage(op, data) {
    const payload = Buffer.from(data);
    this.send(op, payload, { compress: this.deflate && payload.length > 0 });
  }

  async echo(op, data) {
    const want = Buffer.from(data);
    this.sendMessage(op, want);
    const ev = await this.nextOf('message');
    if (ev.op !== op) throw new Error(`${this.name}: echo of opcode ${op} came back as ${ev.op}`);
    if (!ev.data.equals(want)) throw new Error(`${this.name}: echo of ${want.length} bytes came back as ${ev.data.length} different bytes`);
  }

  // closeHandshake sends a close frame and waits for the server's answer
  // and for the end of the stream.
  async closeHandshake(code, reason) {
    const p = Buffer.alloc(2 + Buffer.byteLength(reason));
    p.writeUInt16BE(code, 0);
    p.write(reason, 2);
    this.send(OP.close, p);
    this.closeSent = true;
    const ev = await this.nextOf('close');
    // The server ends its side of the stream once both close frames passed.
    const end = await this.next();
    if (end.type !== 'end' && end.type !== 'streamclose') throw new Error(`${this.name}: after the close, got ${JSON.stringify(end)}`);
    this.stream.end();
    return { code: ev.code, reason: ev.reason, streamEnded: true };
  }
}

// ---- HTTP/2 session and streams ----

function connect() {
  return new Promise((resolve, reject) => {
    const session = http2.connect(target.origin, { rejectUnauthorized: false });
    const t = setTimeout(() => reject(new Error('no SETTINGS from the server within 10 s')), 10000);
    session.once('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    session.once('remoteSettings', (settings) => {
      clearTimeout(t);
      resolve({ session, settings });
    });
  });
}

// open sends an extended CONNECT and resolves with {stream, status, headers}.
function open(session, { path, protocol = 'websocket', version = '13', extra = {} }) {
  const headers = {
    ':method': 'CONNECT',
    ':protocol': protocol,
    ':scheme': target.protocol.slice(0, -1), // https, or http for h2c
    ':path': path,
    ':authority': target.host,
    ...extra,
  };
  if (version !== null) headers['sec-websocket-version'] = version;
  return new Promise((resolve, reject) => {
    let stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (err) {
      reject(err);
      return;
    }
    const t = setTimeout(() => reject(new Error(`no response to CONNECT ${path} within 10 s`)), 10000);
    stream.once('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    stream.once('response', (h) => {
      clearTimeout(t);
      resolve({ stream, status: h[':status'], headers: h });
    });
  });
}

function textOf(n) {
  // ASCII and multi-byte UTF-8 mixed, cut back to whole characters.
  const unit = 'héllo wörld — 日本語 — 🎉 abc ';
  let s = '';
  while (Buffer.byteLength(s) < n) s += unit;
  let b = Buffer.from(s).subarray(0, n);
  while (b.toString().includes('\uFFFD')) b = b.subarray(0, b.length - 1);
  return b;
}

function binaryOf(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) % 251;
  return b;
}

const SIZES = [0, 1, 125, 126, 65535, 65536, 200000];

async function echoMode(session) {
  const base = target.pathname + (target.search || '');
  const sep = base.includes('?') ? '&' : '?';
  const upgradePath = target.pathname.replace(/[^/]*$/, 'upgrade');
  const specs = [
    { name: 'A', path: `${base}${sep}name=A`, extra: { 'sec-websocket-protocol': 'other, chat' } },
    { name: 'B', path: `${base}${sep}name=B`, extra: { 'sec-websocket-extensions': 'permessage-deflate; client_no_context_takeover; server_no_context_takeover' } },
    { name: 'C', path: `${base}${sep}name=C` },
    { name: 'D', path: `${base}${sep}name=D`, extra: { origin: target.origin } },
    { name: 'U', path: `${upgradePath}?name=U` },
  ];
  const report = {};
  result.streams = report;

  // Open all streams at once on the one session.
  const opened = await Promise.all(specs.map((s) => open(session, s)));
  const conns = {};
  opened.forEach((o, i) => {
    const s = specs[i];
    const r = { status: o.status, protocol: o.headers['sec-websocket-protocol'] || '', extensions: o.headers['sec-websocket-extensions'] || '', header: o.headers['x-wsstd-test'] || '' };
    report[s.name] = r;
    if (o.status !== 200) {
      fail(`${s.name}: CONNECT answered ${o.status}`);
      return;
    }
    const deflate = /permessage-deflate/.test(r.extensions);
    conns[s.name] = new WS(s.name, o.stream, deflate);
  });
  if (Object.keys(conns).length !== specs.length) return;
  if (report.A.protocol !== 'chat') fail(`A: subprotocol ${JSON.stringify(report.A.protocol)}, want chat`);
  if (!/^permessage-deflate/.test(report.B.extensions) || !/server_no_context_takeover/.test(report.B.extensions)) fail(`B: extensions ${JSON.stringify(report.B.extensions)}`);
  if (report.C.protocol || report.C.extensions) fail(`C: unexpected negotiation ${JSON.stringify(report.C)}`);
  if (report.U.header !== 'upgrade') fail(`U: responseHeader X-Wsstd-Test missing: ${JSON.stringify(report.U.header)}`);

  // whoami on every stream.
  await Promise.all(Object.values(conns).map(async (ws) => {
    ws.sendMessage(OP.text, 'whoami');
    const ev = await ws.nextOf('message');
    report[ws.name].whoami = JSON.parse(ev.data.toString());
  }));

  const jobs = (ws, sizes) => async () => {
    for (const n of sizes) {
      await ws.echo(OP.text, textOf(n));
      await ws.echo(OP.binary, binaryOf(n, n & 0xff));
      report[ws.name].echoes = (report[ws.name].echoes || 0) + 2;
    }
  };
  const firstHalf = SIZES.slice(0, 4);
  const secondHalf = SIZES.slice(4);

  // Phase 1: everyone echoes the small sizes, at the same time.
  await Promise.all(Object.values(conns).map((ws) => jobs(ws, firstHalf)()));

  // Phase 2: C closes while the others echo the big sizes, send a
  // fragmented message and a ping.
  const others = Object.values(conns).filter((ws) => ws.name !== 'C');
  await Promise.all([
    (async () => {
      report.C.close = await conns.C.closeHandshake(1000, 'C is done');
    })(),
    ...others.map(async (ws) => {
      await jobs(ws, secondHalf)();
      // A text message in three fragments (never compressed here).
      const parts = [Buffer.from('frag-'), Buffer.from('men'), Buffer.from('ted ✓')];
      ws.send(OP.text, parts[0], { fin: false });
      ws.send(OP.cont, parts[1], { fin: false });
      ws.send(OP.cont, parts[2], { fin: true });
      const ev = await ws.nextOf('message');
      if (ev.data.toString() !== 'frag-mented ✓') throw new Error(`${ws.name}: fragmented echo came back as ${JSON.stringify(ev.data.toString())}`);
      report[ws.name].fragmented = true;
      ws.send(OP.ping, Buffer.from(`ping-${ws.name}`));
      const pong = await ws.nextOf('pong');
      report[ws.name].pong = pong.data;
      if (pong.data !== `ping-${ws.name}`) throw new Error(`${ws.name}: pong ${JSON.stringify(pong.data)}`);
      if (ws.deflate) report[ws.name].compressedIn = ws.compressedIn || 0;
    }),
  ]);

  // The others are still alive after C went away: one more echo each, then close.
  await Promise.all(others.map(async (ws) => {
    await ws.echo(OP.text, textOf(70000));
    report[ws.name].echoes += 1;
    report[ws.name].close = await ws.closeHandshake(1000, `${ws.name} is done`);
  }));

  for (const ws of Object.values(conns)) {
    const r = report[ws.name];
    if (!r.whoami || r.whoami.http2 !== true) fail(`${ws.name}: server says http2=${r.whoami && r.whoami.http2}`);
    if (!r.close || r.close.code !== 1000) fail(`${ws.name}: close ${JSON.stringify(r.close)}`);
  }
  result.ok = result.errors.length === 0;
}

async function malformedMode(session) {
  const path = target.pathname;
  const cases = {
    good: { path: `${path}?name=good` },
    noVersion: { path: `${path}?name=noVersion`, version: null },
    version8: { path: `${path}?name=version8`, version: '8' },
    badProtocol: { path: `${path}?name=badProtocol`, protocol: 'not-websocket' },
    foreignOrigin: { path: `${path}?name=foreignOrigin`, extra: { origin: 'https://evil.example' } },
    badExtensions: { path: `${path}?name=badExtensions`, extra: { 'sec-websocket-extensions': 'permessage-deflate; =x' } },
  };
  const answers = {};
  result.answers = answers;
  await Promise.all(Object.entries(cases).map(async ([name, spec]) => {
    try {
      const o = await open(session, spec);
      const a = { status: o.status, version: o.headers['sec-websocket-version'] || '' };
      answers[name] = a;
      if (o.status === 200) {
        const ws = new WS(name, o.stream, false);
        a.close = await ws.closeHandshake(1000, '');
      } else {
        let body = '';
        o.stream.setEncoding('utf8');
        o.stream.on('data', (d) => (body += d));
        await new Promise((resolve) => o.stream.on('close', resolve));
        a.body = body.trim();
      }
    } catch (err) {
      answers[name] = { error: err.message };
      fail(`${name}: ${err.message}`);
    }
  }));
  result.ok = result.errors.length === 0;
}

async function main() {
  const killer = setTimeout(() => {
    fail(`timed out after ${timeout} ms`);
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(1);
  }, timeout);
  let session;
  try {
    const c = await connect();
    session = c.session;
    result.enableConnectProtocol = c.settings.enableConnectProtocol === true;
    if (!result.enableConnectProtocol) {
      fail('the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL');
    } else if (mode === 'malformed') {
      await malformedMode(session);
    } else {
      await echoMode(session);
    }
  } catch (err) {
    fail(err.stack ? err.stack.split('\n').slice(0, 2).join(' | ') : String(err));
  } finally {
    if (session) session.close();
  }
  clearTimeout(killer);
  result.ok = result.ok && result.errors.length === 0;
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.ok ? 0 : 1;
}

main().then((code) => process.exit(code));
