// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/benchmd"
	"github.com/credgate/credgate/internal/testcluster"
)

// Soak parameters. `make soak` sends CREDGATE_SOAK_REQUESTS (1,000,000 by
// default) per profile; CI sends a bounded count. Memory is judged after the
// warm-up: linear memory must not grow by more than soakGrowth.
const (
	soakReport     = 50_000
	soakWarmupPart = 5 // the first fifth of the run, at least soakReport requests
	soakGrowth     = 0.10
	soakWorkers    = 2
)

// soakKind is one kind of request in the soak's mix.
type soakKind struct {
	name    string
	method  string
	path    string
	forward bool // true: must reach the upstream; false: must be refused locally
	headers func(i int64) []string
}

func soakKinds(t testing.TB, e *clusterEnv) []soakKind {
	var kinds []soakKind
	for _, sb := range schemeBenches() {
		if sb.scheme == "hmac" {
			continue // signed per request below
		}
		hs := sb.headers(t, e)
		kinds = append(kinds, soakKind{sb.scheme + " hit", sb.method, sb.path, true, func(int64) []string { return hs }})
	}
	kinds = append(kinds,
		soakKind{"hmac hit", "GET", "/v2/payform", true, func(int64) []string {
			return hmacHeaders("user-42", "demo-user-hmac-key", time.Now())
		}},
		// Misses: a credential the cluster has never seen, new on every request.
		soakKind{"api_key miss", "GET", "/Supplier/Products/List", false, func(i int64) []string {
			return []string{"ApiKey", "soak-unknown-" + strconv.FormatInt(i, 10), "x-tenant", "acme"}
		}},
		soakKind{"oauth2 miss", "GET", "/v1/designs/1", false, func(i int64) []string {
			return []string{"authorization", "Bearer soak-unknown-" + strconv.FormatInt(i, 10)}
		}},
		soakKind{"no credential", "POST", "/Orders/Create", false, func(int64) []string { return nil }},
	)
	return kinds
}

// soakRequest picks request i of the mix: misses are one request in 25,
// every third request carries 40 KiB of extra headers.
func soakRequest(kinds []soakKind, i int64, filler [][2]string) (soakKind, hostcalls.Request) {
	hits := int64(len(kinds) - 3)
	misses, noCredential := kinds[hits:hits+2], kinds[hits+2]
	var k soakKind
	switch {
	case i%50 == 7:
		k = misses[0]
	case i%50 == 32:
		k = misses[1]
	case i%(hits+1) == hits:
		k = noCredential
	default:
		k = kinds[i%(hits+1)]
	}
	req := benchRequest(k.method, k.path, k.headers(i))
	if i%3 == 0 {
		req.Headers = append(req.Headers, filler...)
	}
	return k, req
}

// soakSample is one progress line.
type soakSample struct {
	requests int64
	linear   []uint64 // per VM
	heap     []uint64 // per VM slot, from the plugin's gauges
	cycles   []uint64
}

// TestSoak sends CREDGATE_SOAK_REQUESTS requests per profile over every
// scheme, hits and misses, small and large headers, to 2 VMs from 2 clients,
// with a real token cluster; it reports linear memory and heap every 50k
// requests and fails if memory after the warm-up grows more than 10%, if
// any VM traps, or if any request gets the wrong answer.
func TestSoak(t *testing.T) {
	n, _ := strconv.ParseInt(os.Getenv("CREDGATE_SOAK_REQUESTS"), 10, 64)
	if n <= 0 {
		t.Skip("set CREDGATE_SOAK_REQUESTS (make soak) to run the soak")
	}
	tc := testcluster.Start(t, seedFile)
	var table strings.Builder
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			samples, elapsed := soak(t, tc, p, n)
			writeSoakRows(&table, p, samples, elapsed)
		})
	}
	if n >= 1_000_000 && !t.Failed() {
		writeSoakTable(t, n, table.String())
	}
}

func soak(t *testing.T, tc *testcluster.Cluster, p hostcalls.Profile, n int64) ([]soakSample, time.Duration) {
	cfg := hostcalls.NewConfig().WithVMs(2).WithPluginConfig([]byte(clusterConfig)).
		WithCluster("token_cluster", tc.URL).WithAutoTick(true)
	e := &clusterEnv{tc: tc, host: newWasmHost(t, p, cfg)}
	kinds := soakKinds(t, e)
	filler := make([][2]string, 40)
	for j := range filler {
		filler[j] = [2]string{fmt.Sprintf("x-soak-filler-%d", j), strings.Repeat("f", 1024)}
	}
	var (
		next    atomic.Int64
		wrong   atomic.Int64
		firstMu sync.Mutex
		first   string
		samples []soakSample
		mu      sync.Mutex
		wg      sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < soakWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n || wrong.Load() > 0 {
					return
				}
				k, req := soakRequest(kinds, i, filler)
				res, err := e.host.Do(context.Background(), req)
				ok := err == nil && (k.forward == (res.Upstream != nil)) &&
					(k.forward || (res.LocalResponse != nil && (res.LocalResponse.Status == 401 || res.LocalResponse.Status == 403)))
				if !ok {
					wrong.Add(1)
					firstMu.Lock()
					if first == "" {
						first = fmt.Sprintf("request %d (%s): err %v, result %+v", i, k.name, err, res)
					}
					firstMu.Unlock()
				}
				if (i+1)%soakReport == 0 {
					s := soakSample{requests: i + 1, linear: e.host.LinearMemory()}
					for vm := 0; vm < 2; vm++ {
						h, _ := e.host.Metric(fmt.Sprintf("credgate.vm.%d.heap_bytes", vm))
						c, _ := e.host.Metric(fmt.Sprintf("credgate.vm.%d.gc_cycles", vm))
						s.heap, s.cycles = append(s.heap, h), append(s.cycles, c)
					}
					mu.Lock()
					samples = append(samples, s)
					mu.Unlock()
					fmt.Printf("soak %s: %7d requests %6.1fs  linear memory MiB %v  heap KiB %v  gc cycles %v\n",
						p, s.requests, time.Since(start).Seconds(), mib(s.linear), kib(s.heap), s.cycles)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if wrong.Load() > 0 {
		t.Fatalf("%d wrong answers; first: %s", wrong.Load(), first)
	}
	if traps := e.host.Traps(); len(traps) > 0 {
		t.Fatalf("%d traps: %v", len(traps), traps[0])
	}
	final := soakSample{requests: n, linear: e.host.LinearMemory()}
	warm := max(n/soakWarmupPart, soakReport)
	var base []uint64
	for _, s := range samples {
		if s.requests <= warm {
			base = s.linear
		}
	}
	if base == nil {
		t.Fatalf("the run of %d requests is shorter than the warm-up of %d", n, warm)
	}
	for vm := range final.linear {
		if limit := float64(base[vm]) * (1 + soakGrowth); float64(final.linear[vm]) > limit {
			t.Errorf("vm %d: linear memory grew from %d to %d bytes after the warm-up (over %.0f%%)",
				vm, base[vm], final.linear[vm], soakGrowth*100)
		}
	}
	t.Logf("%s: %d requests in %v (%.0f/s), linear memory after warm-up %v MiB, at the end %v MiB",
		p, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), mib(base), mib(final.linear))
	return samples, elapsed
}

func mib(v []uint64) []string {
	out := make([]string, len(v))
	for i, b := range v {
		out[i] = fmt.Sprintf("%.1f", float64(b)/(1<<20))
	}
	return out
}

func kib(v []uint64) []uint64 {
	out := make([]uint64, len(v))
	for i, b := range v {
		out[i] = b >> 10
	}
	return out
}

func writeSoakRows(b *strings.Builder, p hostcalls.Profile, samples []soakSample, elapsed time.Duration) {
	for i, s := range samples {
		if i%4 != 3 && i != len(samples)-1 {
			continue // every 200k requests, and the last
		}
		heap := kib(s.heap)
		fmt.Fprintf(b, "| %s | %d | %s | %d / %d | %d | %d |\n", p, s.requests, strings.Join(mib(s.linear), " / "),
			heap[0], heap[1], s.cycles[0], s.cycles[1])
	}
	fmt.Fprintf(b, "| %s | total %.0f s | | | | |\n", p, elapsed.Seconds())
}

func writeSoakTable(t *testing.T, n int64, rows string) {
	var b strings.Builder
	fmt.Fprintf(&b, "### Soak: memory over %d requests per profile\n\n", n)
	fmt.Fprintf(&b, "`make soak`: build/credgate.wasm on the hostcalls host, 2 VMs, 2 clients, a real token cluster "+
		"(bbolt) on loopback; %s %s/%s, GOMAXPROCS=%d. Every scheme's cache hits, misses (a credential new to the "+
		"cluster, 1 request in 25), unauthenticated requests, and 40 KiB of extra headers on every third request. "+
		"Linear memory never shrinks; the run fails if it grows more than 10%% after the warm-up (the first fifth).\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	b.WriteString("| profile | requests | linear memory MiB (vm 0 / vm 1) | heap KiB (slot 0 / slot 1) | GC cycles slot 0 | GC cycles slot 1 |\n|---|---:|---|---|---:|---:|\n")
	b.WriteString(rows)
	fmt.Println("\n" + b.String())
	if err := benchmd.WriteSection("soak", b.String()); err != nil {
		t.Errorf("BENCHMARKS.md: %v", err)
	}
}
