// Package websocket implements the WebSocket protocol (RFC 6455) for servers
// and clients, with permessage-deflate compression (RFC 7692) and WebSockets
// over HTTP/2 (RFC 8441), on the standard library alone.
//
// # Overview
//
// A Conn is one WebSocket connection, on either side. Messages are text
// (valid UTF-8) or binary. Read them whole with ReadMessage or as a stream
// with NextReader; write them whole with WriteMessage or as a stream with
// NextWriter, which fragments a message of any size through one buffer.
// ReadJSON and WriteJSON stream JSON; NewPreparedMessage encodes a message
// once for many connections; NetConn turns a Conn into a net.Conn.
//
// # Server
//
// An Upgrader accepts WebSocket handshakes inside net/http. Used as an
// http.Handler, it upgrades each request and runs its Handler with the
// Conn on a goroutine of its own, so that net/http frees what it holds for
// the connection:
//
//	http.Handle("/ws", &websocket.Upgrader{Handler: func(c *websocket.Conn) {
//		for {
//			typ, msg, err := c.ReadMessage()
//			if err != nil {
//				return
//			}
//			c.WriteMessage(typ, msg)
//		}
//	}})
//
// Inside a handler of your own, call Upgrade. A request that is not a valid
// handshake is answered with the right HTTP status and a plain-text reason;
// Upgrader.OnReject sees each refusal and its reason (nothing is logged
// otherwise).
// Browsers send Origin: by default only requests whose Origin host matches
// the Host they were sent to are accepted (which stops cross-site WebSocket
// hijacking); OriginPatterns and CheckOrigin allow more. A server behind a
// reverse proxy must see the browser's Host: forward it (nginx:
// proxy_set_header Host $http_host), list the public origin in
// OriginPatterns, or, when every path to it goes through proxies that
// overwrite the header, set TrustForwardedHost. A server on loopback can be reached through a DNS
// rebinding name, for which Host and Origin agree: such servers should check
// the Host themselves or allow only fixed OriginPatterns.
//
// # Client
//
// Dial, or a Dialer for subprotocols, compression, TLS settings, proxies,
// buffer sizes and limits, opens client connections to ws:// and wss://
// URLs. The context bounds the whole handshake. A refused handshake is a
// *HandshakeError carrying the server's response. Proxies come from the
// environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) by default, as with
// net/http; like net/http, they never apply to localhost and loopback
// addresses.
//
// # Concurrency
//
// Any number of goroutines may write at once: each data message goes out
// whole, after the one before it, and control frames (pongs, pings, the
// close frame) can pass between the frames of a fragmented message. One
// goroutine at a time may read. The reading goroutine answers pings,
// delivers pongs and takes part in the close handshake, so a connection
// that only writes should still be read: CloseRead does it in one call.
// A Conn starts no goroutine of its own; keepalive runs on a runtime timer.
//
// # The close handshake
//
// Close and CloseWithStatus send a close frame, wait up to the close
// timeout (DefaultCloseTimeout) for the peer's, and close the transport:
// the server closes TCP first and the client waits for it (RFC 6455
// section 7.1.1). Messages that arrive meanwhile go to the reading
// goroutine, or are read and discarded if nobody reads. A close frame from
// the peer is echoed and reported by read calls as a *CloseError;
// CloseStatus extracts its code. CloseNow drops the connection at once.
//
// When the library fails a connection itself (a protocol error, invalid
// UTF-8, a message over the read limit), it sends the matching close code
// (1002, 1007, 1009) and then lingers: it shuts down its write side and
// reads and discards what the peer still sends until the peer closes too,
// within the close timeout, so that the close frame is not destroyed by a
// TCP reset. The read call that failed returns once that is done.
//
// # Keepalive and liveness
//
// Proxies, load balancers and NATs cut connections that stay silent (nginx
// after 60 s by default). With PingInterval set on the Upgrader or Dialer, a
// Conn pings its peer at that interval and drops the connection when
// nothing arrives within PingTimeout of a ping; the reading goroutine's call
// then returns an error that says so. Keepalive never makes a writer wait:
// a ping due while a frame is being written goes out right after it. Ping
// sends a ping and waits for its pong, bounded by its context.
//
// # Limits and errors
//
// SetReadLimit bounds the size of a message (DefaultReadLimit); the limit is
// checked from each frame header, before the payload is read, and applies
// to the decompressed size of compressed messages. Every read error is
// final. Errors are *CloseError when the peer closed, *ProtocolError when the
// library failed the connection (its Code is what was sent), and errors
// matching ErrClosed and net.ErrClosed on a closed connection; when the
// library dropped the connection (a write that timed out, keepalive), the
// error also wraps the cause, such as os.ErrDeadlineExceeded. Deadlines
// (SetDeadline, SetReadDeadline, SetWriteDeadline) work as on a net.Conn; a
// read or write that times out fails the connection, since a frame may
// have been cut in half. Pongs, keepalive pings and the close frame are
// written under deadlines of their own, never under a stale application
// write deadline. IsCloseError and IsUnexpectedCloseError test a read
// error for the peer's close codes, as gorilla's functions of those names
// do.
//
// # Compression
//
// Set Compression on the Upgrader or Dialer to negotiate permessage-deflate.
// CompressionNoContextTakeover compresses each message on its own with
// pooled compressors, so idle connections hold no compression state: the
// mode for servers with many connections. CompressionContextTakeover keeps
// the sliding window across messages for a better ratio on streams of
// similar messages. Messages under the compression threshold go out
// uncompressed (SetCompressionThreshold), and SetWriteCompression turns
// compression off around data that is already compressed. Every window size
// (server_max_window_bits and client_max_window_bits, 8 to 15) is accepted
// in both roles; compress/flate cannot limit its window, so a side whose
// window is below 15 compresses with Huffman coding only, which is valid for
// any window at a lower ratio. In context takeover mode an idle
// connection's compressor goes back to a pool and only the history the
// peer may refer to is kept.
//
// # HTTP/2
//
// The Upgrader also accepts WebSockets that arrive as HTTP/2 extended
// CONNECT streams (RFC 8441) when the program runs with
// GODEBUG=http2xconnect=1 (Go 1.24 and later). Such a Conn lives on its
// request's stream: a handler that calls Upgrade must not return while the
// Conn is in use. Conn.HTTP2 tells the two kinds apart. The Dialer speaks
// HTTP/1.1.
//
// # Memory and pooling
//
// Read and write buffers are borrowed from pools while a message is in
// flight and given back between messages. On plain TCP an idle connection
// waits for data without any buffer, and as an http.Handler the Upgrader
// lets net/http free its own per-connection buffers, so an idle server
// connection costs a few KiB (Upgrader.DropRequest saves the kept request
// too). A steady-state WriteMessage, and a message
// read with NextReader into a reused buffer, allocate nothing. Write
// batching (SetWriteBatching) lets the replies of a request/response server
// share one system call.
//
// # Shutdown
//
// http.Server.Shutdown neither closes nor waits for hijacked connections.
// Upgrader.Shutdown refuses new upgrades with 503, sends every live Conn a
// close frame with 1001 (between the frames of a message being written),
// waits for the peers' answers and drops the rest when its context is done.
// ShutdownServer does both in the right order: it shuts an http.Server and
// its Upgraders down together and returns when all are done.
//
// # WebAssembly
//
// Compiled for js/wasm, the package offers the same client API on the
// browser's own WebSocket: Dial, Dialer, and the Conn's reading, writing and
// closing methods. What a browser does not let a page do is absent, so that
// code relying on it does not compile: the server side, handshake headers,
// pings and deadlines. Close codes are limited to 1000 and 3000-4999, and
// received messages are queued up to ReadQueueLimit.
package websocket
