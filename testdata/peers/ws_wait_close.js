// Connects a Node `ws` client to the URL in argv[2], prints "OPEN" once
// connected, then waits for the server to close and prints
// "CLOSE <code> <reason>" before exiting. Used by the graceful shutdown test.
'use strict';
const WebSocket = require('ws');

const ws = new WebSocket(process.argv[2]);
ws.on('open', () => console.log('OPEN'));
ws.on('close', (code, reason) => {
  console.log(`CLOSE ${code} ${reason.toString()}`);
  process.exit(0);
});
ws.on('error', (err) => {
  console.log(`ERROR ${err.message}`);
  process.exit(1);
});
