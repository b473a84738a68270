// SPDX-License-Identifier: Apache-2.0

package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
	"github.com/credgate/credgate/plugin/tokenapi"
)

var apiKeyHeaders = []string{"ApiKey", "demo-api-key-0001", "x-tenant", "acme"}

// TestRevokedCachedKeyRefusedWithinOneSecond caches an API key on every VM,
// revokes it at the token cluster, and requires every VM to refuse it within
// one second.
func TestRevokedCachedKeyRefusedWithinOneSecond(t *testing.T) {
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			e := newClusterEnv(t, p, 2)
			warmCache(t, e, "/Supplier/Products/List", apiKeyHeaders...)
			if st, b := e.tc.Admin(t, "DELETE", "/admin/v1/api-keys/demo-key", ""); st/100 != 2 {
				t.Fatalf("revoke: %d %s", st, b)
			}
			revoked := time.Now()
			refused := map[int]bool{}
			for len(refused) < e.host.VMs() {
				res := e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...)
				if res.LocalResponse != nil && res.LocalResponse.Status == 401 {
					refused[res.VM] = true
				}
				if time.Since(revoked) > time.Second {
					t.Fatalf("after 1s only VMs %v refuse the revoked key", refused)
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("every VM refused the revoked key %v after revocation", time.Since(revoked).Round(time.Millisecond))
		})
	}
}

// warmCache sends requests until every VM answers them from its cache.
func warmCache(t *testing.T, e *clusterEnv, path string, headers ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		hits, _ := e.host.Metric("credgate.cache.hit")
		for i := 0; i < 2*e.host.VMs(); i++ {
			expectUpstream(t, e.call(t, "GET", path, headers...), nil)
		}
		after, _ := e.host.Metric("credgate.cache.hit")
		if after-hits >= uint64(2*e.host.VMs()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("answers are not being cached (hits %d → %d)", hits, after)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterFaults: a token cluster that is down, slow, or answers garbage
// never lets a request through without a valid credential: 503 under the
// default fail policy, a cached answer within the stale window under "stale".
func TestClusterFaults(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{name: "slow", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		}},
		{name: "500", handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }},
		{name: "not JSON", handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>ok</html>")) }},
		{name: "active not a boolean", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"active":"true","subject":"x","tenant":"acme","cache_ttl":60}`))
		}},
		{name: "empty 200", handler: func(w http.ResponseWriter, r *http.Request) {}},
		{name: "reset", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			cfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", srv.URL)
			h := newWasmHost(t, hostcalls.ProfileEnvoy133, cfg)
			e := &clusterEnv{host: h}
			expectDenied(t, e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...), 503, "")
			expectDenied(t, e.call(t, "GET", "/stale/x", apiKeyHeaders...), 503, "")
			// Nothing was cached: the same request asks again and is refused again.
			expectDenied(t, e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...), 503, "")
			if n, _ := e.host.Metric("credgate.cache.hit"); n != 0 {
				t.Errorf("%d cache hits after answers that were refused", n)
			}
		})
	}
	t.Run("down, with and without a stale answer", func(t *testing.T) {
		tc := testcluster.Start(t, seedFile, "--cache-ttl", "1s")
		cfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", tc.URL).WithAutoTick(true)
		e := &clusterEnv{tc: tc, host: newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)}
		warmCache(t, e, "/stale/x", apiKeyHeaders...)
		warmCache(t, e, "/Supplier/Products/List", apiKeyHeaders...)
		tc.Stop(t)
		time.Sleep(1100 * time.Millisecond) // past the 1 s cache hint: only stale answers remain
		expectUpstream(t, e.call(t, "GET", "/stale/x", apiKeyHeaders...), map[string]string{"x-credgate-tenant": "acme"})
		expectDenied(t, e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...), 503, "cannot be verified right now")
		expectDenied(t, e.call(t, "GET", "/stale/x", "ApiKey", "never-cached", "x-tenant", "acme"), 503, "")
		if n, _ := e.host.Metric("credgate.cache.stale"); n == 0 {
			t.Error("no stale answer was counted")
		}
	})
}

// TestClusterAnswerForAnotherCredential: an answer the token cluster gives
// for another credential (its digest names another one) is neither used nor
// cached; the same answer for this credential is used, then served from the
// cache.
func TestClusterAnswerForAnotherCredential(t *testing.T) {
	tests := []struct {
		name   string
		digest string
		calls  int64 // token cluster calls for two requests
	}{
		{name: "this credential", digest: tokenapi.Digest("demo-api-key-0001"), calls: 1},
		{name: "another credential", digest: tokenapi.Digest("demo-api-key-0002"), calls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				_, _ = w.Write([]byte(`{"active":true,"kind":"api_key","subject":"app-1","tenant":"acme","cache_ttl":60,"digest":"` + tc.digest + `"}`))
			}))
			defer srv.Close()
			cfg := hostcalls.NewConfig().WithPluginConfig([]byte(strings.Replace(clusterConfig,
				`"revocation_poll_ms": 200`, `"revocation_poll_ms": 0`, 1))).WithCluster("token_cluster", srv.URL)
			e := &clusterEnv{host: newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)}
			for i := 0; i < 2; i++ {
				res := e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...)
				if tc.calls == 1 {
					expectUpstream(t, res, map[string]string{"x-credgate-subject": "app-1"})
					continue
				}
				expectDenied(t, res, 503, "")
				if got := string(res.FilterState["wasm.credgate.deny_reason"]); got != "api_key_answer_mismatch" {
					t.Errorf("deny reason %q", got)
				}
			}
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d token cluster calls, want %d", got, tc.calls)
			}
		})
	}
}
