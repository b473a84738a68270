// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// TestSessionRefreshSentFromTheTick: a cache hit whose session is due for
// its sliding refresh does not call the token cluster from its own stream
// (the proxy would cancel the call, and the SDK drop its answer, when the
// stream ends); the VM sends it at its next tick.
func TestSessionRefreshSentFromTheTick(t *testing.T) {
	tc := testcluster.Start(t, seedFile)
	target, err := url.Parse(tc.URL)
	if err != nil {
		t.Fatal(err)
	}
	var introspections atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == tokenapi.PathIntrospect {
			introspections.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	defer front.CloseClientConnections() // the VM's held revocation long-poll
	conf := strings.Replace(clusterConfig, `{"name": "me", "match": {"prefix": "/v2/me"}, "schemes": ["session_token"]}`,
		`{"name": "me", "match": {"prefix": "/v2/me"}, "schemes": ["session_token"], "options": {"session_token": {"refresh_seconds": 1}}}`, 1)
	if conf == clusterConfig {
		t.Fatal("the session route of the test configuration changed")
	}
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(conf)).WithCluster("token_cluster", front.URL)
	h := newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)
	e := &clusterEnv{tc: tc, host: h}
	tok := e.sessionToken(t)
	ctx := context.Background()
	hit := func() {
		t.Helper()
		res, err := h.Do(ctx, benchRequest("GET", "/v2/me", []string{"access-token", tok}))
		if err != nil || res.Upstream == nil {
			t.Fatalf("session request refused: %v %+v", err, res.LocalResponse)
		}
	}
	// Until the VM follows the revocation feed nothing is cached.
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := h.Metric("credgate.cache.hit"); n == 0; n, _ = h.Metric("credgate.cache.hit") {
		if time.Now().After(deadline) {
			t.Fatal("no cache hit")
		}
		hit()
		if err := h.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // past refresh_seconds
	before := introspections.Load()
	hit() // a hit, due for its refresh
	if n := introspections.Load(); n != before {
		t.Fatalf("the hit's own stream asked the token cluster (%d calls)", n-before)
	}
	if err := h.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); introspections.Load() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the tick sent no refresh")
		}
	}
	hit() // still served from the cache
}
