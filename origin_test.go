//go:build !js

package websocket

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestForwardedHost: which forwarded hosts TrustForwardedHost honours.
// Only one unambiguous value counts; Forwarded wins over X-Forwarded-Host.
func TestForwardedHost(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{}, ""},
		{http.Header{"X-Forwarded-Host": {"a.example:8000"}}, "a.example:8000"},
		{http.Header{"X-Forwarded-Host": {" a.example "}}, "a.example"},
		{http.Header{"X-Forwarded-Host": {"a.example, b.example"}}, ""},
		{http.Header{"X-Forwarded-Host": {"a.example", "b.example"}}, ""},
		{http.Header{"Forwarded": {"for=1.2.3.4;host=a.example:8000;proto=https"}}, "a.example:8000"},
		{http.Header{"Forwarded": {`host="a.example:8000"`}}, "a.example:8000"},
		{http.Header{"Forwarded": {"HOST=a.example"}}, "a.example"},
		{http.Header{"Forwarded": {"host=a.example, host=b.example"}}, ""},
		{http.Header{"Forwarded": {"for=1.2.3.4"}, "X-Forwarded-Host": {"b.example"}}, ""},
		{http.Header{"Forwarded": {"host=a.example"}, "X-Forwarded-Host": {"b.example"}}, "a.example"},
	} {
		if got := forwardedHost(tc.h); got != tc.want {
			t.Errorf("forwardedHost(%v) = %q, want %q", tc.h, got, tc.want)
		}
	}
}

// TestUpgradeOnReject: every refusal reaches OnReject with the status
// and the reason that the response carries; an accepted handshake and a
// forwarded host without TrustForwardedHost behave as before.
func TestUpgradeOnReject(t *testing.T) {
	type reject struct {
		status int
		err    string
	}
	var mu sync.Mutex
	var got []reject
	u := &Upgrader{
		Handler: func(c *Conn) {},
		OnReject: func(r *http.Request, status int, err error) {
			mu.Lock()
			got = append(got, reject{status, err.Error()})
			mu.Unlock()
		},
	}
	s := hsAddr(hsServe(t, u))
	trusting := hsAddr(hsServe(t, &Upgrader{Handler: func(c *Conn) {}, TrustForwardedHost: true}))

	for _, tc := range []struct {
		name   string
		srv    string
		header map[string][]string
		status int
		reason string
	}{
		{"cross origin", s, map[string][]string{"Origin": {"https://page.example"}}, 403,
			`origin "https://page.example" is not allowed: it does not match the Host header "` + s + `", and no OriginPatterns entry allows it; behind a reverse proxy, forward the browser's Host header (nginx: proxy_set_header Host $http_host;)`},
		{"forwarded, not trusted", s, map[string][]string{"Origin": {"https://page.example"}, "X-Forwarded-Host": {"page.example"}}, 403, "is not allowed: it does not match the Host header"},
		{"forwarded, trusted", trusting, map[string][]string{"Origin": {"https://page.example"}, "X-Forwarded-Host": {"page.example"}}, 101, ""},
		{"other forwarded, trusted", trusting, map[string][]string{"Origin": {"https://page.example"}, "X-Forwarded-Host": {"evil.example"}}, 403, `nor the forwarded host "evil.example"`},
		{"opaque origin", s, map[string][]string{"Origin": {"null"}}, 403, `which only the OriginPatterns entry "*" allows`},
		{"bad version", s, map[string][]string{"Sec-WebSocket-Version": {"8"}}, 426, "unsupported Sec-WebSocket-Version"},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		resp, body := hsDo(t, tc.srv, hsRequest("GET / HTTP/1.1", tc.srv, tc.header))
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.reason) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, resp.StatusCode, body, tc.status, tc.reason)
		}
		if tc.srv != s {
			continue
		}
		mu.Lock()
		if tc.status == 101 && len(got) != 0 || tc.status != 101 && (len(got) != 1 || got[0].status != tc.status || got[0].err != "websocket: "+strings.TrimSpace(body)) {
			t.Errorf("%s: OnReject saw %+v, want one call with %d and the body's reason", tc.name, got, tc.status)
		}
		mu.Unlock()
	}

	// Shutdown's refusals too.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	u.Shutdown(ctx)
	mu.Lock()
	got = nil
	mu.Unlock()
	if resp, _ := hsDo(t, s, hsRequest("GET / HTTP/1.1", s, nil)); resp.StatusCode != 503 {
		t.Errorf("after Shutdown: %d, want 503", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].status != 503 {
		t.Errorf("after Shutdown: OnReject saw %+v, want one 503", got)
	}
}
