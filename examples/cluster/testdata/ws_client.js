#!/usr/bin/env node
// A chat member on Node's ws package, for cluster_test.go.
//
//   NODE_PATH=.../testdata/peers/node_modules node ws_client.js <ws-url> --senders=K --count=N
//
// It connects, and once the server echoes its own join (so its room's
// subscription is in place) prints {"ready": "<its id>"}. On the line "go"
// on stdin it sends "m1".."mN" and "end" as chat messages, and it reads
// until it has received "end" from K senders (itself included). It then
// prints {"id": ..., "got": [event, ...]} with every chat message received,
// closes with 1000 and exits 0. Any failure or 60 s without finishing
// prints {"error": ...} and exits 1.
'use strict';

const readline = require('readline');
const WebSocket = require('ws');

function opt(name, def) {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
}

const url = process.argv[2];
const senders = Number(opt('senders', '1'));
const count = Number(opt('count', '10'));
let id = '';
const got = [];
let ends = 0;

function fail(msg) {
  process.stdout.write(JSON.stringify({ error: msg, id, received: got.length }) + '\n', () => process.exit(1));
}
setTimeout(() => fail('timed out after 60s'), 60000).unref();

const ws = new WebSocket(url);
ws.on('error', (e) => fail('ws error: ' + e.message));
ws.on('close', (code, reason) => fail(`closed early: ${code} ${reason}`));
ws.on('message', (data) => {
  const e = JSON.parse(data.toString());
  if (e.type === 'welcome') id = e.from;
  else if (e.type === 'join' && e.from === id) process.stdout.write(JSON.stringify({ ready: id }) + '\n');
  else if (e.type === 'message') {
    got.push(e);
    if (e.text === 'end' && ++ends === senders) {
      // Exit only once the (asynchronous, for a pipe) write is done.
      ws.removeAllListeners('close');
      process.stdout.write(JSON.stringify({ id, got }) + '\n', () => {
        ws.on('close', () => process.exit(0));
        ws.close(1000);
      });
    }
  }
});

readline.createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() !== 'go') return;
  for (let i = 1; i <= count; i++) ws.send(JSON.stringify({ type: 'message', text: 'm' + i }));
  ws.send(JSON.stringify({ type: 'message', text: 'end' }));
});
