#!/usr/bin/python3
"""Real-peer WebSocket client built on Python `websockets` (Debian's
python3-websockets, 10.x asyncio API). Run with /usr/bin/python3.
Runs the same MATRIX as ws_client.js and matrix.html against an echo server.

Usage:
  /usr/bin/python3 py_client.py <ws-url> [--deflate] [--no-context-takeover]
                                [--server-max-window-bits=N] [--client-max-window-bits=N]
                                [--subprotocol=name] [--timeout=ms]

--server-max-window-bits=N offers server_max_window_bits=N (asks the server
for a window of 2^N bytes, which the client's zlib decoder then enforces);
--client-max-window-bits=N offers client_max_window_bits=N (the client
compresses with at most 2^N). Without them, websockets' defaults apply.

Prints exactly one JSON line on stdout:
  {"ok":bool,"errors":[...],"close":{"code":N,"reason":"..."},
   "protocol":"...","extensions":"<Sec-WebSocket-Extensions response header>"}
and exits 0 only if ok.
"""

import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

SIZES = [0, 125, 126, 65535, 65536, 1048576]
UTF8_UNIT = "héllo wörld — 日本語 — 🎉 "
UTF8_REPEAT = 2000  # 74,000 bytes of UTF-8

argv = sys.argv[1:]
urls = [a for a in argv if not a.startswith("--")]
opts = dict(a[2:].split("=", 1) if "=" in a else (a[2:], True) for a in argv if a.startswith("--"))
if len(urls) != 1:
    sys.exit("usage: py_client.py <ws-url> [--deflate] [--no-context-takeover] [--subprotocol=p] [--timeout=ms]")

result = {"ok": False, "errors": [], "close": None, "protocol": "", "extensions": ""}


def binary_of(n):
    return bytes(i % 251 for i in range(n))


def text_of(n):
    return "".join(chr(32 + i % 95) for i in range(n))


def kind(msg):
    return "text" if isinstance(msg, str) else "binary"


async def round_trip(ws, label, payload):
    """Send one message and check the echo matches in type and content."""
    await ws.send(payload)
    got = await ws.recv()
    if kind(got) != kind(payload):
        result["errors"].append(f"{label}: got {kind(got)} reply")
    elif got != payload:
        result["errors"].append(f"{label}: echo differs (sent {len(payload)}, got {len(got)})")


async def run(ws):
    result["protocol"] = ws.subprotocol or ""
    result["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions") or ""

    for n in SIZES:
        await round_trip(ws, f"binary {n}", binary_of(n))
        await round_trip(ws, f"text {n}", text_of(n))
    await round_trip(ws, "utf8 text", UTF8_UNIT * UTF8_REPEAT)

    # Server-initiated ping: websockets answers with a pong automatically.
    await ws.send("ping-me")
    got = await ws.recv()
    if got != "pong-received":
        result["errors"].append(f'ping-me: expected text "pong-received", got {kind(got)} {got[:80]!r}')

    # Client-initiated ping: wait for the matching pong.
    pong = await ws.ping(b"cli-ping")
    await pong

    # Close handshake: expect the server to echo 4001/bye.
    await ws.close(4001, "bye")


async def main():
    exts = None
    if opts.get("deflate"):
        nct = bool(opts.get("no-context-takeover"))
        windows = {}
        if opts.get("server-max-window-bits"):
            windows["server_max_window_bits"] = int(opts["server-max-window-bits"])
        if opts.get("client-max-window-bits"):
            windows["client_max_window_bits"] = int(opts["client-max-window-bits"])
        exts = [
            ClientPerMessageDeflateFactory(
                server_no_context_takeover=nct,
                client_no_context_takeover=nct,
                compress_settings={"memLevel": 5},
                **windows,
            )
        ]
    sub = opts.get("subprotocol")
    ws = None
    try:
        ws = await websockets.connect(
            urls[0],
            compression=None,
            extensions=exts,
            subprotocols=[sub] if sub else None,
            max_size=64 << 20,
            ping_interval=None,
        )
        await asyncio.wait_for(run(ws), float(opts.get("timeout", 60000)) / 1000)
    except asyncio.TimeoutError:
        result["errors"].append("timeout")
    except Exception as err:  # connection refused, closed early, ...
        result["errors"].append(f"{type(err).__name__}: {err}")
    if ws is not None:
        await ws.close()  # no-op once closed
        result["close"] = {"code": ws.close_code, "reason": ws.close_reason}
        if (ws.close_code, ws.close_reason) != (4001, "bye"):
            result["errors"].append(f"close: expected 4001 'bye', got {ws.close_code} {ws.close_reason!r}")
    result["ok"] = not result["errors"]
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
