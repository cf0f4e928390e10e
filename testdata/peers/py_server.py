#!/usr/bin/python3
"""Real-peer WebSocket server built on Python `websockets` (Debian's
python3-websockets, 10.x asyncio API). Run with /usr/bin/python3.

Usage:
  /usr/bin/python3 py_server.py [--mode=echo|hello|malformed] [--frame=KIND]
                                [--deflate|--no-deflate] [--no-context-takeover]
                                [--server-max-window-bits=N|none]
                                [--client-max-window-bits=N|none]
                                [--subprotocols=a,b]

The window options set the server's limits (default 12 for both, as in
websockets' own default); "none" leaves a window unlimited.

stdout protocol: the same lines as ws_server.js
  LISTEN <port> (first line), OPEN <path> <subprotocol|-> <extensions|->,
  PEERCLOSE <code> (malformed mode), CLOSED <code> <reason> (per connection).
"""

import asyncio
import os
import re
import signal
import sys

import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Close

# Raw server-to-client frames that a conforming client must reject
# (a subset of ws_server.js's list, same names).
MALFORMED = {
    "opcode3": bytes([0x83, 0x00]),
    "ping126": bytes([0x89, 0x7E, 0x00, 0x7E]) + b"a" * 126,
    "fragping": bytes([0x09, 0x00]),
    "rsv1": bytes([0xC1, 0x01, 0x61]),
    "badcont": bytes([0x80, 0x01, 0x61]),
    "badutf8": bytes([0x81, 0x02, 0xC3, 0x28]),
    "masked": bytes([0x81, 0x81, 0x01, 0x02, 0x03, 0x04, 0x60]),
    "close1": bytes([0x88, 0x01, 0x03]),
}


def parse_args(argv):
    args = {}
    for a in argv:
        m = re.fullmatch(r"--([^=]+)(?:=(.*))?", a)
        if not m:
            sys.exit(f"py_server: unexpected argument {a}")
        args[m.group(1)] = True if m.group(2) is None else m.group(2)
    return args


ARGS = parse_args(sys.argv[1:])
MODE = ARGS.get("mode", "echo")
FRAME = ARGS.get("frame", "opcode3")
if MODE not in ("echo", "hello", "malformed"):
    sys.exit(f"py_server: unknown --mode={MODE}")
if MODE == "malformed" and FRAME not in MALFORMED:
    sys.exit(f"py_server: unknown --frame={FRAME}; known: {','.join(MALFORMED)}")


PENDING = set()  # background server_ping tasks


def out(line):
    print(line, flush=True)


async def server_ping(ws):
    """Send a ping and report back once its pong has arrived."""
    try:
        pong = await ws.ping(b"srv-ping")
        await pong
        await ws.send("pong-received")
    except websockets.ConnectionClosed:
        pass


async def handler(ws):
    ext = ws.response_headers.get("Sec-WebSocket-Extensions") or "-"
    out(f"OPEN {ws.path} {ws.subprotocol or '-'} {ext}")
    try:
        if MODE == "malformed":
            # Bypass the library's framing: write the bad bytes to the socket.
            ws.transport.write(MALFORMED[FRAME])
            try:
                await asyncio.wait_for(ws.wait_closed(), 10)
                out(f"PEERCLOSE {ws.close_code}")
            except asyncio.TimeoutError:
                out("PEERCLOSE timeout")
            return
        async for msg in ws:
            if MODE == "hello":
                await ws.send("Hello, Client!")
                continue
            if isinstance(msg, str):
                if msg == "ping-me":
                    task = asyncio.create_task(server_ping(ws))
                    PENDING.add(task)  # keep a reference until it finishes
                    task.add_done_callback(PENDING.discard)
                    continue
                m = re.fullmatch(r"close-me (\d+)(?: (.*))?", msg, re.S)
                if m:
                    close = Close(int(m.group(1)), m.group(2) or "")
                    try:
                        close.check()  # validate first: a failed close() can't be retried
                    except websockets.exceptions.ProtocolError as err:
                        print(f"close-me: {err}", file=sys.stderr)
                        close = Close(1011, "bad close-me request")
                    await ws.close(close.code, close.reason)
                    break
            await ws.send(msg)  # str stays text, bytes stay binary
    except websockets.ConnectionClosed:
        pass
    finally:
        try:
            await ws.close()  # no-op if already closed; sends 1000 otherwise
        except Exception as err:
            print(f"close: {err}", file=sys.stderr)
        reason = ws.close_reason
        out(f"CLOSED {ws.close_code}" + (f" {reason}" if reason else ""))


def window_arg(name):
    v = ARGS.get(name, "12")
    return None if v == "none" else int(v)


def extensions():
    if not ARGS.get("deflate") or ARGS.get("no-deflate"):
        return None
    nct = bool(ARGS.get("no-context-takeover"))
    # Same settings as websockets' own default, plus optional no-context-takeover.
    return [
        ServerPerMessageDeflateFactory(
            server_no_context_takeover=nct,
            client_no_context_takeover=nct,
            server_max_window_bits=window_arg("server-max-window-bits"),
            client_max_window_bits=window_arg("client-max-window-bits"),
            compress_settings={"memLevel": 5},
        )
    ]


async def main():
    subprotocols = ARGS["subprotocols"].split(",") if ARGS.get("subprotocols") else None
    server = await websockets.serve(
        handler,
        "127.0.0.1",
        0,
        compression=None,
        extensions=extensions(),
        subprotocols=subprotocols,
        max_size=64 << 20,
        ping_interval=None,
    )
    out(f"LISTEN {server.sockets[0].getsockname()[1]}")
    # Like ws_server.js: exit at once on SIGINT/SIGTERM, dropping connections.
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, os._exit, 0)
    await asyncio.Future()  # serve until killed


if __name__ == "__main__":
    asyncio.run(main())
