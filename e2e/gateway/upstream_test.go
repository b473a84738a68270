// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"io"
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
