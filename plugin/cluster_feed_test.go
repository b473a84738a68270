// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// feedCounter sits between the plugin and the token cluster and records
// the revocation feed calls.
type feedCounter struct {
	mu    sync.Mutex
	polls []string // raw queries, in arrival order
}

func (f *feedCounter) count() (n int, queries []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.polls), append([]string(nil), f.polls...)
}

func startFeedCounter(t *testing.T, target string) (*feedCounter, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &feedCounter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == tokenapi.PathRevocations {
			f.mu.Lock()
			f.polls = append(f.polls, r.URL.RawQuery)
			f.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close) // after the host closed (cleanups run last first), which cancels held calls
	return f, srv.URL
}

// TestRevocationLongPoll: every VM follows the feed with long-polls (a
// poll every 200 ms would be 15 calls per VM in the idle 3 s), and a
// revocation still reaches every VM within one second.
func TestRevocationLongPoll(t *testing.T) {
	tc := testcluster.Start(t, seedFile)
	counter, via := startFeedCounter(t, tc.URL)
	const vms = 2
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", via).WithVMs(vms).
		WithAutoTick(true)
	e := &clusterEnv{tc: tc, host: newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)}
	warmCache(t, e, "/Supplier/Products/List", apiKeyHeaders...)
	before, _ := counter.count()
	time.Sleep(3 * time.Second) // idle: 15 ticks of 200 ms per VM, past the 2 s timeout_ms
	after, queries := counter.count()
	if idle := after - before; idle > vms {
		t.Errorf("%d feed calls from %d idle VMs in 3 s: %v", idle, vms, queries[before:])
	}
	if n, _ := e.host.Metric("credgate.revocations.errors"); n > 0 {
		t.Errorf("%d feed calls failed: a held call must fit in the call's timeout (timeout_ms plus the wait plus 5 s)", n)
	}
	for _, q := range queries[vms:] { // the first call of each VM learns the head
		if !strings.Contains(q, "since=") || !strings.Contains(q, "wait=30") {
			t.Errorf("feed call %q is not a long-poll", q)
		}
	}
	if st, b := tc.Admin(t, "DELETE", "/admin/v1/api-keys/demo-key", ""); st/100 != 2 {
		t.Fatalf("revoke: %d %s", st, b)
	}
	revoked := time.Now()
	refused := map[int]bool{}
	for len(refused) < vms {
		res := e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...)
		if res.LocalResponse != nil && res.LocalResponse.Status == 401 {
			refused[res.VM] = true
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("after 1s only VMs %v refuse the revoked key", refused)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("every VM refused the revoked key %v after revocation; %d feed calls in all", time.Since(revoked).Round(time.Millisecond), after)
}

// TestRevocationFeedBehind: VMs that stopped following the feed while it
// was compacted past their cursor are told so by the token cluster, drop
// every cached answer, refuse the shared answers stamped before, and serve
// no stale answer for a credential revoked in the compacted part.
func TestRevocationFeedBehind(t *testing.T) {
	tc := testcluster.Start(t, seedFile, "--revocation-max-entries", "1", "--revocation-compact-every", "50ms")
	const vms = 2
	// No automatic ticks: the test decides when the VMs poll.
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", tc.URL).WithVMs(vms)
	e := &clusterEnv{tc: tc, host: newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)}
	ctx := context.Background()
	if err := e.host.Tick(ctx); err != nil { // the first poll: the head
		t.Fatal(err)
	}
	warmCache(t, e, "/Supplier/Products/List", apiKeyHeaders...)
	for _, p := range []string{"/admin/v1/api-keys/demo-key", "/admin/v1/domains/shop.acme.test", "/admin/v1/apps/demo-public-key"} {
		if st, b := tc.Admin(t, "DELETE", p, ""); st/100 != 2 {
			t.Fatalf("revoke %s: %d %s", p, st, b)
		}
	}
	_, hb := tc.Do(t, "GET", tokenapi.PathRevocations, "", "", "authorization", "Bearer "+testcluster.VerifyToken)
	var h tokenapi.RevocationsResponse
	if err := json.Unmarshal(hb, &h); err != nil || !strings.Contains(h.Next, ":") {
		t.Fatalf("head: %s (%v)", hb, err)
	}
	first := h.Next[:strings.IndexByte(h.Next, ':')] + ":0:" // the feed's start, in its epoch (no entry: no tag)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, b := tc.Do(t, "GET", tokenapi.PathRevocations+"?since="+first, "", "", "authorization", "Bearer "+testcluster.VerifyToken)
		if st == 200 && strings.Contains(string(b), `"behind":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed was not compacted: %d %s", st, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Not polled yet: the VMs still serve their cached answers. This is
	// the state a VM cut off from the token cluster comes back in.
	for range vms {
		expectUpstream(t, e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...), nil)
	}
	if err := e.host.Tick(ctx); err != nil { // each VM polls from its old cursor and is told it is behind
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for n, _ := e.host.Metric("credgate.revocations.behind"); n < vms; n, _ = e.host.Metric("credgate.revocations.behind") {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d VMs learnt they were behind", n, vms)
		}
		time.Sleep(10 * time.Millisecond)
	}
	refused := map[int]bool{}
	for range 4 * vms {
		res := e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...)
		expectDenied(t, res, 401, "")
		refused[res.VM] = true
	}
	if len(refused) != vms {
		t.Fatalf("only VMs %v were asked", refused)
	}
	if !logged(e.host, "fell behind the compacted feed") {
		t.Error("no VM logged that it fell behind")
	}
}
