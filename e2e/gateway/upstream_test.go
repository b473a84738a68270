// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Cluster", name)
		_, _ = io.WriteString(w, r.Host+" "+r.RequestURI+" "+r.Header.Get("X-Forwarded-Proto")+" "+r.Header.Get("Accept-Encoding"))
	})
}

// TestUpstreamRouting sends continued requests by the route table to each
// cluster's endpoint, keeping the authority, path and query as Envoy does.
func TestUpstreamRouting(t *testing.T) {
	a := httptest.NewServer(named("a"))
	defer a.Close()
	b := httptest.NewServer(named("b"))
	defer b.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	bs := &Bootstrap{
		Routes: []Route{{Path: "/token", Cluster: "a"}, {Prefix: "/down", Cluster: "down"},
			{Prefix: "/v", Cluster: "b"}},
		Clusters: map[string]string{"a": a.URL, "b": b.URL, "down": down.URL},
	}
	u, err := newUpstreams(bs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, cluster string
		status        int
		body          string
	}{
		{"/token", "a", 200, "api.example /token http"},
		{"/v2/contacts?page=2&x=%20y", "b", 200, "api.example /v2/contacts?page=2&x=%20y http"},
		{"/tokens", "", 404, ""},
		{"/down/x", "", 503, "upstream connect error"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Host = "api.example"
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("Accept-Encoding", "br")
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		if rec.Code != tc.status || rec.Header().Get("X-Cluster") != tc.cluster || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s: %d %q %q, want %d %q %q", tc.path, rec.Code, rec.Header().Get("X-Cluster"), rec.Body, tc.status, tc.cluster, tc.body)
		}
		if tc.status == 200 && !strings.HasSuffix(rec.Body.String(), " br") {
			t.Errorf("%s: Accept-Encoding not passed through: %q", tc.path, rec.Body)
		}
	}
}

// TestUpstreamTimeout answers 504 when the cluster is slower than the
// route's timeout.
func TestUpstreamTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	u, err := newUpstreams(&Bootstrap{Routes: []Route{{Prefix: "/", Cluster: "s", Timeout: 50 * time.Millisecond}},
		Clusters: map[string]string{"s": slow.URL}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", rec.Code)
	}
}

// Past max active connections, new ones are closed at once; a closed one
// frees its slot.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &limitListener{Listener: inner, max: 2, log: slog.New(slog.DiscardHandler)}
	defer ln.Close()
	accepted := acceptAll(ln, 4)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := dial(), dial()
	defer a.Close()
	defer b.Close()
	first, second := <-accepted, <-accepted
	extra := dial()
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection past the limit was served")
	}
	if ln.refused.Load() != 1 {
		t.Fatalf("refused %d", ln.refused.Load())
	}
	_ = first.Close()
	_ = second.Close()
	ok := dial()
	defer ok.Close()
	select {
	case c := <-accepted:
		_ = c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("a slot freed by a closed connection was not reused")
	}
}

func TestTooLarge(t *testing.T) {
	l := Limits{MaxHeaderBytes: 100, MaxHeaders: 3}
	for _, tc := range []struct {
		h    http.Header
		want bool
	}{
		{http.Header{"A": {"1"}, "B": {"2"}, "C": {"3"}}, false},
		{http.Header{"A": {"1", "2"}, "B": {"2"}, "C": {"3"}}, true},
		{http.Header{"A": {strings.Repeat("x", 100)}}, true},
		{http.Header{"A": {strings.Repeat("x", 99)}}, false},
	} {
		if got := tooLarge(tc.h, l); got != tc.want {
			t.Errorf("tooLarge(%d headers) = %v, want %v", len(tc.h), got, tc.want)
		}
	}
}

// At the bound, a connection idle between requests is closed to make room
// for a new client.
func TestLimitListenerEvictsIdle(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idle := &idleConns{since: map[net.Conn]time.Time{}}
	ln := &limitListener{Listener: inner, max: 1, log: slog.New(slog.DiscardHandler), evict: idle.closeOldest}
	defer ln.Close()
	accepted := acceptAll(ln, 2)
	a, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	first := <-accepted
	idle.track(first, http.StateIdle) // kept alive, waiting for a next request
	b, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("the new client was not served although a connection was idle")
	}
	_ = a.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := a.Read(make([]byte, 1)); err == nil {
		t.Fatal("the idle connection was not closed")
	}
	if ln.refused.Load() != 0 {
		t.Fatalf("refused %d", ln.refused.Load())
	}
}

// acceptAll accepts from ln until it closes, handing each connection over.
func acceptAll(ln net.Listener, buffer int) <-chan net.Conn {
	accepted := make(chan net.Conn, buffer)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	return accepted
}
