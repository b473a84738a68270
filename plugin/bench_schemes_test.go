// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/benchmd"
	"github.com/credgate/credgate/internal/testcluster"
)

// schemeBench is one scheme's request, with credentials issued by the token
// cluster before timing starts.
type schemeBench struct {
	scheme  string
	method  string
	path    string
	headers func(t testing.TB, e *clusterEnv) []string
}

func schemeBenches() []schemeBench {
	return []schemeBench{
		{"no-op (anonymous)", "GET", "/healthz", func(testing.TB, *clusterEnv) []string { return nil }},
		{"jwt", "POST", "/Orders/Create", func(t testing.TB, e *clusterEnv) []string {
			return []string{"authorization", "Bearer " + e.customerJWT(t)}
		}},
		{"oauth2_bearer", "GET", "/v1/designs/1", func(t testing.TB, e *clusterEnv) []string {
			return []string{"authorization", "Bearer " + e.oauthToken(t, "")}
		}},
		{"api_key", "GET", "/Supplier/Products/List", func(testing.TB, *clusterEnv) []string { return apiKeyHeaders }},
		{"user_api_key", "GET", "/v2/contacts", func(testing.TB, *clusterEnv) []string {
			return []string{"user-id", "user-42", "user-api-key", "demo-user-api-key", "developer-id", "dev-1001"}
		}},
		{"session_token", "GET", "/v2/me", func(t testing.TB, e *clusterEnv) []string {
			return []string{"access-token", e.sessionToken(t)}
		}},
		{"hmac", "GET", "/v2/payform", func(testing.TB, *clusterEnv) []string {
			return hmacHeaders("user-42", "demo-user-hmac-key", time.Now())
		}},
		{"public_key", "GET", "/v0/products", func(testing.TB, *clusterEnv) []string {
			return []string{"authorization", "demo-public-key"}
		}},
		{"public_key_token", "GET", "/v0/orders", func(t testing.TB, e *clusterEnv) []string {
			return []string{"authorization", "demo-public-key:" + e.publicKeyToken(t)}
		}},
		{"domain_key", "GET", "/products/1", func(testing.TB, *clusterEnv) []string {
			return []string{"authorization", basic("shop.acme.test|demo-domain-key")}
		}},
	}
}

// BenchmarkSchemes measures every scheme through build/credgate.wasm with a
// real token cluster on loopback: "hit" with the cache warm, "miss" with the
// cache off (every request asks the token cluster), and the no-op route in
// the same run. It prints a table and writes it to BENCHMARKS.md.
func BenchmarkSchemes(b *testing.B) {
	tc := testcluster.Start(b, seedFile)
	hitCfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", tc.URL).WithAutoTick(true).
		WithGuestTimeClock(true).WithUpstream(benchUpstream)
	missCfg := hostcalls.NewConfig().WithPluginConfig([]byte(strings.Replace(clusterConfig,
		`"cache": {"negative_ttl_seconds": 1}`, `"cache": {"max_entries": 0}`, 1))).WithCluster("token_cluster", tc.URL).
		WithAutoTick(true). // key sets are fetched from ticks, as on Envoy
		WithGuestTimeClock(true).WithUpstream(benchUpstream)
	hit := &clusterEnv{tc: tc, host: newWasmHost(b, hostcalls.ProfileEnvoy139, hitCfg)}
	floor, err := hostcalls.NewHost(context.Background(), compiledFile(b, floorPath, hostcalls.ProfileEnvoy139), hostcalls.NewConfig().WithUpstream(benchUpstream))
	if err != nil {
		b.Fatal(err)
	}
	defer floor.Close(context.Background())
	miss := &clusterEnv{tc: tc, host: newWasmHost(b, hostcalls.ProfileEnvoy139, missCfg)}
	results := map[string][2]time.Duration{}
	allocs := map[string][2]float64{}
	guests := map[string][2]time.Duration{}
	b.Run("floor", func(b *testing.B) {
		req := benchRequest("GET", "/healthz", nil)
		for n := 0; n < b.N; n++ {
			if res, err := floor.Do(context.Background(), req); err != nil || res.Upstream == nil {
				b.Fatalf("floor: not forwarded: %v", err)
			}
		}
		results["floor"] = [2]time.Duration{b.Elapsed() / time.Duration(b.N)}
	})
	for _, sb := range schemeBenches() {
		headers := sb.headers(b, hit)
		for i, mode := range []struct {
			name string
			e    *clusterEnv
		}{{"hit", hit}, {"miss", miss}} {
			b.Run(sb.scheme+"/"+mode.name, func(b *testing.B) {
				waitCursor(b, mode.e)
				req := benchRequest(sb.method, sb.path, headers)
				if _, err := mode.e.host.Do(context.Background(), req); err != nil { // warm the cache
					b.Fatal(err)
				}
				b.ResetTimer()
				before, guestBefore := guestAllocs(b, mode.e.host), guestTime(mode.e.host)
				for n := 0; n < b.N; n++ {
					res, err := mode.e.host.Do(context.Background(), req)
					if err != nil || res.Upstream == nil {
						b.Fatalf("%s %s: not forwarded: %v %+v", sb.scheme, mode.name, err, res.LocalResponse)
					}
				}
				r := results[sb.scheme]
				r[i] = b.Elapsed() / time.Duration(b.N)
				results[sb.scheme] = r
				a := allocs[sb.scheme]
				a[i] = float64(guestAllocs(b, mode.e.host)-before) / float64(b.N)
				allocs[sb.scheme] = a
				b.ReportMetric(a[i], "guest-allocs/op")
				g := guests[sb.scheme]
				g[i] = (guestTime(mode.e.host) - guestBefore) / time.Duration(b.N)
				guests[sb.scheme] = g
				b.ReportMetric(float64(g[i].Nanoseconds())/1000, "guest-µs/op")
			})
		}
	}
	// The hit column: every row's hits again, interleaved, in rounds; each
	// row's figure is its median round, so a slower phase of the shared
	// machine falls on every row alike instead of on the rows it happens to
	// overlap.
	b.Run("hits side by side", func(b *testing.B) {
		type row struct {
			name string
			h    *hostcalls.Host
			req  hostcalls.Request
		}
		rows := []row{{"floor", floor, benchRequest("GET", "/healthz", nil)}}
		for _, sb := range schemeBenches() {
			rows = append(rows, row{sb.scheme, hit.host, benchRequest(sb.method, sb.path, sb.headers(b, hit))})
		}
		rounds := make(map[string][]time.Duration)
		for r := 0; r < hitRounds; r++ {
			for _, rw := range rows {
				if _, err := rw.h.Do(context.Background(), rw.req); err != nil { // cached before timing
					b.Fatal(err)
				}
				start := time.Now()
				for n := 0; n < hitRoundRequests; n++ {
					if res, err := rw.h.Do(context.Background(), rw.req); err != nil || res.Upstream == nil {
						b.Fatalf("%s: not forwarded: %v", rw.name, err)
					}
				}
				rounds[rw.name] = append(rounds[rw.name], time.Since(start)/hitRoundRequests)
			}
		}
		for name, ds := range rounds {
			slices.Sort(ds)
			r := results[name]
			r[0] = ds[len(ds)/2]
			results[name] = r
		}
		base := results[schemeBenches()[0].scheme][0]
		for _, rw := range rows { // the medians, also when a filtered run keeps the committed table
			b.Logf("%-20s hit %6.1f µs  × no-op %.2f", rw.name, float64(results[rw.name][0].Nanoseconds())/1000,
				float64(results[rw.name][0])/float64(base))
		}
	})
	writeSchemeTable(b, results, allocs, guests)
}

// hitRounds and hitRoundRequests: the interleaved rounds of hits whose
// medians make the hit column.
const (
	hitRounds        = 7
	hitRoundRequests = 3000
)

// guestTime is the time the host's VMs ran guest code so far.
func guestTime(h *hostcalls.Host) time.Duration {
	var d time.Duration
	for _, v := range h.GuestTime() {
		d += v
	}
	return d
}

// guestAllocs is the heap objects the module's VMs allocated so far, read
// inside the module (credgate_diag_heap_objects).
func guestAllocs(b testing.TB, h *hostcalls.Host) uint64 {
	b.Helper()
	per, err := h.Diagnostic(context.Background(), "credgate_diag_heap_objects")
	if err != nil {
		b.Fatal(err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n
}

// waitCursor gives revocation polling time to learn its cursor, before
// which nothing is cached.
func waitCursor(b testing.TB, e *clusterEnv) {
	b.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := e.host.Metric("credgate.cache.hit"); n > 0 {
			return
		}
		_, _ = e.host.Do(context.Background(), benchRequest("GET", "/Supplier/Products/List", apiKeyHeaders))
		time.Sleep(20 * time.Millisecond)
	}
}

// benchUpstream answers every benchmark request the same, without reading
// it: the rows then differ by what the plugin does, not by how many headers
// a simulated upstream has to echo (hostcalls.FixedUpstream).
var benchUpstream = hostcalls.FixedUpstream(200, [][2]string{{"content-type", "application/json"}}, []byte(`{"ok":true}`))

func benchRequest(method, path string, kv []string) hostcalls.Request {
	var hs [][2]string
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
	}
	return hostcalls.Request{Method: method, Path: path, Authority: "api.example", Headers: hs}
}

func writeSchemeTable(b *testing.B, r map[string][2]time.Duration, allocs map[string][2]float64, guests map[string][2]time.Duration) {
	base, fl := r[schemeBenches()[0].scheme], r["floor"][0]
	if base[0] == 0 || fl == 0 || len(r) < len(schemeBenches())+1 {
		return // a filtered run; keep the committed table
	}
	for _, sb := range schemeBenches() {
		if d := r[sb.scheme]; d[0] == 0 || d[1] == 0 {
			return // hits or misses filtered out
		}
	}
	var t strings.Builder
	fmt.Fprintf(&t, "### Plugin: µs per request by scheme, cache hit and miss\n\n")
	fmt.Fprintf(&t, "`go test -run '^$' -bench BenchmarkSchemes ./plugin/`: build/credgate.wasm on the hostcalls host "+
		"(profile %s) with a real token cluster (bbolt) on loopback and a fixed upstream answer (hostcalls.FixedUpstream, as in every plugin table); %s %s/%s, GOMAXPROCS=%d. \"hit\": answers from the "+
		"plugin's cache, the median of %d rounds of %d requests in which every row takes its turn (floor, no-op, "+
		"each scheme, then again), so that a slower phase of this shared machine falls on every row alike; \"miss\": cache off, every request is a token-cluster round trip (the stream pauses and resumes). "+
		"jwt never asks the cluster; sso is single use and not repeatable. The floor (build/floor.wasm, a bare module on "+
		"the same SDK and build) and the no-op route are measured in the same run; the ratios divide by the no-op route's "+
		"hit. Guest allocations are the heap objects the module's Go runtime allocated per request, read inside the module "+
		"(its credgate_diag_heap_objects export, runtime/metrics) over the whole run of the row; the goal is 0 per hit and at most 4 per miss.\n\n",
		hostcalls.ProfileEnvoy139, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), hitRounds, hitRoundRequests)
	fmt.Fprintf(&t, "| scheme | hit µs | miss µs | hit × floor | hit × no-op | miss × no-op | hit over no-op | miss over no-op | guest allocs per hit | per miss |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&t, "| floor (bare SDK module) | %.1f | | 1.00 | %.2f | | %+.1f | | | |\n", us(fl), float64(fl)/float64(base[0]), us(fl-base[0]))
	for _, sb := range schemeBenches() {
		d, a := r[sb.scheme], allocs[sb.scheme]
		fmt.Fprintf(&t, "| %s | %.1f | %.1f | %.2f | %.2f | %.2f | %+.1f | %+.1f | %.1f | %.1f |\n", sb.scheme, us(d[0]), us(d[1]),
			float64(d[0])/float64(fl), float64(d[0])/float64(base[0]), float64(d[1])/float64(base[0]), us(d[0]-base[0]), us(d[1]-base[0]),
			a[0], a[1])
	}
	fmt.Println("\n" + t.String())
	if err := benchmd.WriteSection("plugin-schemes", t.String()); err != nil {
		b.Errorf("BENCHMARKS.md: %v", err)
	}
}
