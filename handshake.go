//go:build !js

package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// acceptGUID is the fixed GUID of RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// computeAccept returns the Sec-WebSocket-Accept value for a
// Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
func computeAccept(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(h.Sum(sum[:0]))
}

// validKey reports whether key is a base64 encoding of 16 bytes.
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	return err == nil && n == 16
}

// newKey returns a fresh random Sec-WebSocket-Key.
func newKey() string {
	var b [16]byte
	k1, k2, k3, k4 := newMaskKey(), newMaskKey(), newMaskKey(), newMaskKey()
	copy(b[0:], k1[:])
	copy(b[4:], k2[:])
	copy(b[8:], k3[:])
	copy(b[12:], k4[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// headerTokens returns the comma-separated tokens of every h[name] line,
// trimmed of optional white space, empty elements dropped.
func headerTokens(h http.Header, name string) []string {
	var out []string
	for _, line := range h[http.CanonicalHeaderKey(name)] {
		for _, t := range strings.Split(line, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// hasToken reports whether the token list in h[name] contains token,
// compared case-insensitively.
func hasToken(h http.Header, name, token string) bool {
	for _, t := range headerTokens(h, name) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

// extension is one element of a Sec-WebSocket-Extensions header: a name and
// its parameters in the order given.
type extension struct {
	name   string
	params []extensionParam
}

// extensionParam is one extension parameter; value is "" when the
// parameter has no value, and hasValue tells the two apart.
type extensionParam struct {
	name     string
	value    string
	hasValue bool
}

// String returns the header form of e.
func (e extension) String() string {
	var b strings.Builder
	b.WriteString(e.name)
	for _, p := range e.params {
		b.WriteString("; ")
		b.WriteString(p.name)
		if p.hasValue {
			b.WriteByte('=')
			b.WriteString(p.value)
		}
	}
	return b.String()
}

var errBadExtensions = errors.New("websocket: malformed Sec-WebSocket-Extensions header")

// parseExtensions parses every Sec-WebSocket-Extensions line of h by the
// grammar of RFC 6455 section 9.1. Quoted parameter values are unquoted and
// must be tokens themselves.
func parseExtensions(h http.Header) ([]extension, error) {
	var out []extension
	for _, line := range h[http.CanonicalHeaderKey("Sec-WebSocket-Extensions")] {
		s := line
		for {
			s = skipSpace(s)
			if s == "" {
				break
			}
			if s[0] == ',' { // empty list element
				s = s[1:]
				continue
			}
			var e extension
			e.name, s = cutToken(s)
			if e.name == "" {
				return nil, errBadExtensions
			}
			for {
				s = skipSpace(s)
				if s == "" || s[0] == ',' {
					break
				}
				if s[0] != ';' {
					return nil, errBadExtensions
				}
				s = skipSpace(s[1:])
				var p extensionParam
				p.name, s = cutToken(s)
				if p.name == "" {
					return nil, errBadExtensions
				}
				s = skipSpace(s)
				if s != "" && s[0] == '=' {
					s = skipSpace(s[1:])
					p.hasValue = true
					if s != "" && s[0] == '"' {
						v, rest, ok := cutQuoted(s)
						if !ok || !isToken(v) {
							return nil, errBadExtensions
						}
						p.value, s = v, rest
					} else {
						p.value, s = cutToken(s)
						if p.value == "" {
							return nil, errBadExtensions
						}
					}
				}
				e.params = append(e.params, p)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func skipSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func cutToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// cutQuoted reads a quoted-string at the start of s.
func cutQuoted(s string) (val, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			i++
			if i == len(s) {
				return "", "", false
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// refusal is a refused upgrade request: the HTTP status to answer
// with and a short plain-text reason.
type refusal struct {
	status int
	reason string
}

func (e *refusal) Error() string { return "websocket: " + e.reason }

// checkUpgradeRequest validates an HTTP/1.1 opening handshake request
// (RFC 6455 section 4.2.1) and returns its Sec-WebSocket-Key.
func checkUpgradeRequest(r *http.Request) (string, *refusal) {
	if r.Method != http.MethodGet {
		return "", &refusal{http.StatusMethodNotAllowed, "the WebSocket handshake must use the GET method"}
	}
	if !r.ProtoAtLeast(1, 1) {
		return "", &refusal{http.StatusBadRequest, "the WebSocket handshake needs HTTP/1.1 or later"}
	}
	if r.Host == "" {
		return "", &refusal{http.StatusBadRequest, "missing Host header"}
	}
	if !hasToken(r.Header, "Connection", "upgrade") {
		return "", &refusal{http.StatusBadRequest, "the Connection header does not contain \"upgrade\""}
	}
	if !hasToken(r.Header, "Upgrade", "websocket") {
		return "", &refusal{http.StatusBadRequest, "the Upgrade header does not contain \"websocket\""}
	}
	if err := checkVersion(r.Header); err != nil {
		return "", err
	}
	keys := r.Header["Sec-Websocket-Key"]
	if len(keys) != 1 || !validKey(keys[0]) {
		return "", &refusal{http.StatusBadRequest, "Sec-WebSocket-Key must be the base64 encoding of 16 bytes"}
	}
	return keys[0], nil
}

func checkVersion(h http.Header) *refusal {
	if v := h["Sec-Websocket-Version"]; len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return &refusal{http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version: this server speaks version 13"}
	}
	return nil
}

// checkSameOrigin implements the default Origin policy: requests without an
// Origin header (non-browser clients) pass; a browser's Origin must name
// the host the request was sent to, or match one of patterns. With
// trustForwarded, the host a proxy forwarded (forwardedHost) counts as
// the host the request was sent to as well. It returns "" for a request
// that passes and otherwise why not, in words that tell the server's
// operator what to change: a refusal is typically a reverse proxy that
// rewrote Host, and the browser shows only that the connection failed.
func checkSameOrigin(r *http.Request, patterns []string, trustForwarded bool) string {
	origin := r.Header["Origin"]
	if len(origin) == 0 {
		return ""
	}
	if len(origin) > 1 {
		return "origin is not allowed: the request has more than one Origin header"
	}
	u, err := url.Parse(origin[0])
	if err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return ""
	}
	return checkOtherOrigin(r, origin[0], u, err, patterns, trustForwarded)
}

// checkOtherOrigin is checkSameOrigin for an Origin that does not name the
// request's Host. It runs in a frame of its own, so that the common case
// keeps the handshake's stack small (see Upgrade).
//
//go:noinline
func checkOtherOrigin(r *http.Request, origin string, u *url.URL, err error, patterns []string, trustForwarded bool) string {
	if err != nil || u.Host == "" {
		// An opaque origin ("null", from sandboxed pages and files) is
		// allowed only by the "*" pattern.
		if contains(patterns, "*") {
			return ""
		}
		return "origin " + strconv.Quote(origin) + " is not allowed: it is opaque (a sandboxed page or a file), which only the OriginPatterns entry \"*\" allows"
	}
	fwd := ""
	if trustForwarded {
		if fwd = forwardedHost(r.Header); fwd != "" && strings.EqualFold(u.Host, fwd) {
			return ""
		}
	}
	host := strings.ToLower(u.Host)
	for _, p := range patterns {
		p = strings.ToLower(p)
		// A pattern may name the full origin (scheme://host) or just the host.
		target := host
		if strings.Contains(p, "://") {
			target = strings.ToLower(u.Scheme) + "://" + host
		}
		if ok, err := path.Match(p, target); err == nil && ok {
			return ""
		}
	}
	var b strings.Builder
	b.WriteString("origin " + strconv.Quote(origin) + " is not allowed: it does not match the Host header " + strconv.Quote(r.Host))
	if fwd != "" {
		b.WriteString(" nor the forwarded host " + strconv.Quote(fwd))
	}
	b.WriteString(", and no OriginPatterns entry allows it; behind a reverse proxy, forward the browser's Host header" +
		" (nginx: proxy_set_header Host $http_host;), or add the origin's host to OriginPatterns")
	return b.String()
}

// forwardedHost returns the host a reverse proxy says the client asked
// for: the host parameter of a Forwarded header (RFC 7239), else the
// X-Forwarded-Host header. Only a single, unambiguous value counts: a
// list means several hops, and the library cannot tell which of them set
// which value.
func forwardedHost(h http.Header) string {
	if v := h.Values("Forwarded"); len(v) > 0 {
		if len(v) > 1 || strings.Contains(v[0], ",") {
			return ""
		}
		for _, pair := range strings.Split(v[0], ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(pair), "=")
			if strings.EqualFold(k, "host") {
				if s, err := strconv.Unquote(val); err == nil {
					val = s
				}
				return val
			}
		}
		return ""
	}
	if v := h.Values("X-Forwarded-Host"); len(v) == 1 && !strings.Contains(v[0], ",") {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// selectSubprotocol returns the first of the server's protocols, in its
// order of preference, that the client offered, or "".
func selectSubprotocol(server []string, offered []string) string {
	for _, s := range server {
		for _, c := range offered {
			if s == c {
				return s
			}
		}
	}
	return ""
}
