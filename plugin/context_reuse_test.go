// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
)

// streamOutcome is what one request ended in: the upstream's credgate identity
// headers, or the local reply's status.
func streamOutcome(res *hostcalls.Result) string {
	if res.Upstream == nil {
		if res.LocalResponse == nil {
			return "neither forwarded nor answered"
		}
		return fmt.Sprintf("denied %d", res.LocalResponse.Status)
	}
	var ids []string
	for _, kv := range res.Upstream.Headers {
		if strings.HasPrefix(kv[0], "x-credgate-") {
			ids = append(ids, kv[0]+"="+kv[1])
		}
	}
	slices.Sort(ids)
	return "forwarded " + strings.Join(ids, " ")
}

// TestStreamContextsReusedCleanly sends a mix of requests through one VM,
// many at a time: cache hits, cluster calls that pause their stream while
// others run, refusals and anonymous requests. The VM reuses the contexts
// of finished streams; every request must end exactly as it does alone,
// with its own identity and nothing of another stream's.
func TestStreamContextsReusedCleanly(t *testing.T) {
	e := newClusterEnv(t, hostcalls.ProfileEnvoy139, 1)
	waitCursor(t, e)
	type req struct {
		name, method, path string
		headers            []string
	}
	reqs := []req{
		{"acme key", "GET", "/Supplier/Products/List", []string{"ApiKey", "demo-api-key-0001", "x-tenant", "acme"}},
		{"globex key", "GET", "/Supplier/Products/List", []string{"ApiKey", "demo-api-key-0002", "x-tenant", "globex"}},
		{"globex key on payment", "GET", "/Payment/x", []string{"ApiKey", "demo-api-key-0002", "x-tenant", "globex"}},
		{"acme key on payment", "GET", "/Payment/x", []string{"ApiKey", "demo-api-key-0001", "x-tenant", "acme"}},
		{"wrong tenant", "GET", "/Supplier/Products/List", []string{"ApiKey", "demo-api-key-0001", "x-tenant", "globex"}},
		{"no credentials", "GET", "/Supplier/Products/List", nil},
		{"anonymous route", "GET", "/healthz", []string{"x-credgate-subject", "spoofed"}},
		{"user key", "GET", "/v2/contacts", []string{"user-id", "user-42", "user-api-key", "demo-user-api-key", "developer-id", "dev-1001"}},
		{"public key", "GET", "/v0/products", []string{"authorization", "demo-public-key"}},
		{"domain key", "GET", "/products/1", []string{"authorization", basic("shop.acme.test|demo-domain-key")}},
	}
	do := func(r req, extra ...string) string {
		hs := append(append([]string(nil), r.headers...), extra...)
		res, err := e.host.Do(context.Background(), benchRequest(r.method, r.path, hs))
		if err != nil {
			return "error " + err.Error()
		}
		return streamOutcome(res)
	}
	want := make([]string, len(reqs))
	for i, r := range reqs {
		want[i] = do(r)
		if i == 0 && !strings.Contains(want[i], "x-credgate-subject=") {
			t.Fatalf("%s: %s: the table needs a verified identity", r.name, want[i])
		}
	}
	const workers, perWorker = 8, 150
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []string
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				n := (w*7 + i) % (len(reqs) + 1)
				if n == len(reqs) {
					// An unknown key: a cluster call (a paused stream) every time.
					got := do(req{"unknown", "GET", "/Supplier/Products/List",
						[]string{"ApiKey", fmt.Sprintf("unknown-key-%d-%d", w, i), "x-tenant", "acme"}})
					if got != "denied 401" {
						mu.Lock()
						wrong = append(wrong, "unknown key: "+got)
						mu.Unlock()
					}
					continue
				}
				if got := do(reqs[n]); got != want[n] {
					mu.Lock()
					wrong = append(wrong, fmt.Sprintf("%s: %s, alone %s", reqs[n].name, got, want[n]))
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Fatalf("%d of %d requests ended otherwise than alone, first: %s", len(wrong), workers*perWorker, wrong[0])
	}
	t.Logf("%d requests; alone: %q", workers*perWorker, want)
}

// TestJWTCacheKeysOutliveReusedHeaders sends many valid tokens of one length,
// one after another, through one VM, twice: each stream reuses the last one's
// header buffer, so a cache that kept a token without copying it would find
// its keys rewritten by later requests and answer for another user.
func TestJWTCacheKeysOutliveReusedHeaders(t *testing.T) {
	h := newWasmHost(t, hostcalls.ProfileEnvoy139, baseConfig(scenarioConfig, scenarioNow))
	const n = 1200
	toks := make([]string, n)
	for i := range toks {
		toks[i] = token(t, jwtSecretK1, "k1", map[string]any{"sub": fmt.Sprintf("customer-%05d", i)})
	}
	for round := 0; round < 2; round++ { // the second round is cache hits
		for i, tok := range toks {
			res, err := h.Do(context.Background(), hostcalls.Request{Method: "POST", Path: "/Orders/Create", Authority: "api.example",
				Headers: [][2]string{{"authorization", "Bearer " + tok}}})
			if err != nil || res.Upstream == nil {
				t.Fatalf("round %d token %d: %v %+v", round, i, err, res.LocalResponse)
			}
			if sub, _ := res.UpstreamHeader("x-credgate-subject"); sub != fmt.Sprintf("customer-%05d", i) {
				t.Fatalf("round %d: token %d went upstream as %q", round, i, sub)
			}
		}
	}
}

// A stream whose client goes away while its token-cluster call is pending
// is deleted with the call unanswered: its context is not reused, and the
// late answer changes nothing for the streams after it, which reuse the
// contexts of misses that were answered.
func TestAbandonedCallLeavesLaterStreamsAlone(t *testing.T) {
	tc := testcluster.Start(t, seedFile)
	target, err := url.Parse(tc.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var slow atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() && r.URL.Path == "/v1/verify" {
			time.Sleep(300 * time.Millisecond) // answered after its client left
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close) // after the host's cleanup, which ends its long-poll through front
	conf := strings.Replace(clusterConfig, `"cache": {"negative_ttl_seconds": 1}`, `"cache": {"max_entries": 0}`, 1)
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(conf)).WithCluster("token_cluster", front.URL).WithAutoTick(true)
	e := &clusterEnv{tc: tc, host: newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)}
	acme := []string{"ApiKey", "demo-api-key-0001", "x-tenant", "acme"}
	globex := []string{"ApiKey", "demo-api-key-0002", "x-tenant", "globex"}
	for round := 0; round < 3; round++ {
		slow.Store(true)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		_, _ = e.host.Do(ctx, benchRequest("GET", "/Supplier/Products/List", acme))
		cancel()
		slow.Store(false)
		deadline := time.Now().Add(450 * time.Millisecond) // past the late answer
		for i := 0; time.Now().Before(deadline); i++ {     // misses answered meanwhile, and after it
			hs, want := globex, "x-credgate-tenant=globex"
			if i%2 == 0 {
				hs, want = acme, "x-credgate-tenant=acme"
			}
			res, err := e.host.Do(t.Context(), benchRequest("GET", "/Supplier/Products/List", hs))
			if err != nil {
				t.Fatal(err)
			}
			if got := streamOutcome(res); !strings.Contains(got, want) {
				t.Fatalf("round %d, request %d: %s, want %s", round, i, got, want)
			}
		}
	}
	if traps := e.host.Traps(); len(traps) != 0 {
		t.Fatalf("traps: %v", traps)
	}
}
