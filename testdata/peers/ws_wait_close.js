// Connects a Node `ws` client to the URL in argv[2], prints "OPEN" once
// connected (after sending argv[3] as a text message, if given), then waits
// for the server to close and prints "CLOSE <code> <reason>" before exiting.
// Used by the graceful shutdown and deployment tests.
'use strict';
const WebSocket = require('ws');

const ws = new WebSocket(process.argv[2]);
ws.on('open', () => {
  if (process.argv[3] !== undefined) ws.send(process.argv[3]);
  console.log('OPEN');
});
ws.on('close', (code, reason) => {
  console.log(`CLOSE ${code} ${reason.toString()}`);
  process.exit(0);
});
ws.on('error', (err) => {
  console.log(`ERROR ${err.message}`);
  process.exit(1);
});
