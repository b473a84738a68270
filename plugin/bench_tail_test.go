// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/benchmd"
	"github.com/credgate/credgate/internal/testcluster"
	"github.com/credgate/credgate/internal/testproc"
)

// floorPath is the benchmarks' floor module (make build/floor.wasm).
var floorPath = filepath.Join("..", "build", "floor.wasm")

// benchKeys is how many extra API keys the warm cache holds besides the
// schemes' own credentials: with them the cache is at its 10,000 entries.
const benchKeys = 9990

// tailRequests is the number of requests measured per row (env
// CREDGATE_TAIL_REQUESTS, default 100,000).
func tailRequests() int {
	if n, err := strconv.Atoi(os.Getenv("CREDGATE_TAIL_REQUESTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// tailRow is one measured row: every request's wall and guest time.
type tailRow struct {
	name         string
	wall, guest  []time.Duration
	cpu          []time.Duration // the calling thread's CPU time
	hostGC       []bool          // a host collection ended during the request
	hits         uint64
	guestCycles  uint64 // the plugin's gc_cycles gauge moved by this much
	hostCycles   uint64
	linearBefore uint64
	linearAfter  uint64
}

// BenchmarkTail sends tailRequests requests per scheme through
// build/credgate.wasm with the demo configuration and the plugin's cache warm
// with 10,000 entries (a real token cluster on loopback holds 9,990 extra API
// keys), and the same number through the floor module and the no-op route,
// all in one run. It records each request's wall time and, with the host's
// guest clock, the guest's share, so that a slow request can be put down to
// the guest (its collector runs on the worker thread) or to the host (the
// host's own collector, counted per request). It then measures VM start and
// linear memory per VM, floor and plugin. It writes the sections plugin-tail
// and plugin-vm of BENCHMARKS.md.
func BenchmarkTail(b *testing.B) {
	n := tailRequests()
	db := warmClusterDB(b)
	tc := testcluster.Start(b, seedFile, "--data", db, "--cache-ttl", "1h")
	env := &clusterEnv{tc: tc}
	// Credentials first, then the plugin's clock stops: cached answers never
	// expire during the run, and the HMAC signature stays fresh.
	type req struct {
		name    string
		r       hostcalls.Request
		floor   bool
		scheme  bool
		headers []string
	}
	var reqs []req
	for _, sb := range schemeBenches() {
		reqs = append(reqs, req{name: sb.scheme, r: benchRequest(sb.method, sb.path, nil), headers: sb.headers(b, env), scheme: sb.scheme != schemeBenches()[0].scheme})
	}
	frozen := time.Now()
	for i := range reqs {
		if reqs[i].name == "hmac" {
			reqs[i].headers = hmacHeaders("user-42", "demo-user-hmac-key", frozen)
		}
		reqs[i].r = benchRequest(reqs[i].r.Method, reqs[i].r.Path, reqs[i].headers)
	}
	reqs = append([]req{{name: "floor (bare SDK module)", floor: true, r: benchRequest("GET", "/healthz", nil)}}, reqs...)

	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", tc.URL).
		WithAutoTick(true).WithGuestTimeClock(true).WithClock(func() time.Time { return frozen }).WithUpstream(benchUpstream)
	plugin := compiledPlugin(b, hostcalls.ProfileEnvoy139)
	floor := compiledFile(b, floorPath, hostcalls.ProfileEnvoy139)
	ph, err := hostcalls.NewHost(context.Background(), plugin, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer ph.Close(context.Background())
	fh, err := hostcalls.NewHost(context.Background(), floor, hostcalls.NewConfig().WithGuestTimeClock(true).WithUpstream(benchUpstream))
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close(context.Background())
	linearStart := [2]uint64{fh.LinearMemory()[0], ph.LinearMemory()[0]}

	env.host = ph
	waitCursor(b, env)
	for i := 0; i < 3; i++ { // the demo warm-up: every scheme, answers cached
		for _, rq := range reqs[1:] {
			if res, err := ph.Do(context.Background(), rq.r); err != nil || res.Upstream == nil {
				b.Fatalf("warming %s: %v %+v", rq.name, err, res)
			}
		}
	}
	linearDemo := ph.LinearMemory()[0]
	fmt.Printf("tail: warming the plugin's cache with %d API keys\n", benchKeys)
	warmStart := time.Now()
	for i := 0; i < benchKeys; i++ {
		r := benchRequest("GET", "/Supplier/Products/List", []string{"ApiKey", benchKey(i), "x-tenant", "acme"})
		if res, err := ph.Do(context.Background(), r); err != nil || res.Upstream == nil {
			b.Fatalf("warming key %d: %v %+v", i, err, res)
		}
	}
	linearFull := ph.LinearMemory()[0]
	fmt.Printf("tail: cache warm in %.1fs; %d requests per row\n", time.Since(warmStart).Seconds(), n)

	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	hostCycles := func() uint64 { metrics.Read(samples); return samples[0].Value.Uint64() }
	var rows []*tailRow
	// Do runs the guest on the calling goroutine: pinned to its thread, the
	// thread's CPU time tells running from waiting for a core.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for _, rq := range reqs {
		h := ph
		if rq.floor {
			h = fh
		}
		row := &tailRow{name: rq.name, wall: make([]time.Duration, 0, n), guest: make([]time.Duration, 0, n),
			cpu: make([]time.Duration, 0, n), hostGC: make([]bool, 0, n)}
		hits0, _ := h.Metric("credgate.cache.hit")
		gc0 := guestGCCycles(h)
		row.linearBefore = h.LinearMemory()[0]
		hc0 := hostCycles()
		runtime.GC() // every row starts from the same host heap
		start := time.Now()
		for i := 0; i < n; i++ {
			g0, c0 := h.GuestTime()[0], hostCycles()
			cpu0 := threadCPU()
			t := time.Now()
			res, err := h.Do(context.Background(), rq.r)
			d := time.Since(t)
			cpu := threadCPU() - cpu0
			if err != nil || res.Upstream == nil {
				b.Fatalf("%s: not forwarded: %v %+v", rq.name, err, res)
			}
			row.wall = append(row.wall, d)
			row.cpu = append(row.cpu, cpu)
			row.guest = append(row.guest, h.GuestTime()[0]-g0)
			row.hostGC = append(row.hostGC, hostCycles() != c0)
		}
		hits1, _ := h.Metric("credgate.cache.hit")
		row.hits, row.guestCycles, row.hostCycles = hits1-hits0, guestGCCycles(h)-gc0, hostCycles()-hc0
		row.linearAfter = h.LinearMemory()[0]
		rows = append(rows, row)
		p := percentiles(row.wall)
		fmt.Printf("tail: %-24s p50 %6.1f µs  p99 %6.1f µs  max %8.1f µs  (%.1fs)\n", rq.name, us(p[0]), us(p[1]), us(p[2]), time.Since(start).Seconds())
	}
	b.StopTimer()
	writeTailTable(b, rows, n)
	heap, _ := ph.Metric("credgate.vm.0.heap_bytes")
	goal, _ := ph.Metric("credgate.vm.0.heap_goal_bytes")
	writeVMTable(b, plugin, floor, cfg, vmMemory{start: linearStart[1], demo: linearDemo, full: linearFull, after: ph.LinearMemory()[0],
		floorStart: linearStart[0], floorAfter: fh.LinearMemory()[0], heap: heap, goal: goal})
}

// guestGCCycles is the plugin's own count of its collections (0 for a
// module that publishes none, like the floor).
func guestGCCycles(h *hostcalls.Host) uint64 {
	_ = h.Tick(context.Background()) // the gauges refresh on every tick
	v, _ := h.Metric("credgate.vm.0.gc_cycles")
	return v
}

func benchKey(i int) string { return fmt.Sprintf("bench-api-key-%05d", i) }

// warmClusterDB returns a token cluster database holding the demo seed and
// benchKeys more API keys. Seeding writes each key in its own transaction
// (an fsync each), so the database is built once into build/ and copied.
func warmClusterDB(b *testing.B) string {
	b.Helper()
	cached, err := filepath.Abs(filepath.Join("..", "build", fmt.Sprintf("bench-cluster-%d.db", benchKeys)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(cached); err != nil {
		var seed map[string]any
		raw, err := os.ReadFile(filepath.Join("..", seedFile))
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(raw, &seed); err != nil {
			b.Fatal(err)
		}
		keys := seed["api_keys"].([]any)
		for i := 0; i < benchKeys; i++ {
			keys = append(keys, map[string]any{"id": fmt.Sprintf("bench-key-%05d", i), "tenant": "acme",
				"scopes": []string{"catalog:read"}, "secret": benchKey(i)})
		}
		seed["api_keys"] = keys
		out, _ := json.Marshal(seed)
		seedPath := filepath.Join(b.TempDir(), "seed.json")
		if err := os.WriteFile(seedPath, out, 0o600); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("tail: seeding %d API keys into %s (once; about 30 s)\n", benchKeys, cached)
		tmp := cached + ".tmp"
		_ = os.Remove(tmp)
		cmd := exec.Command(testproc.Build(b, "./tokencluster"), "seed", "-f", seedPath, "-data", tmp, "-bcrypt-cost", "4")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("seeding: %v\n%s", err, out)
		}
		if err := os.Rename(tmp, cached); err != nil {
			b.Fatal(err)
		}
	}
	dst := filepath.Join(b.TempDir(), "tc.db")
	if err := copyFile(cached, dst); err != nil {
		b.Fatal(err)
	}
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// percentiles returns p50, p99 and max of ds.
func percentiles(ds []time.Duration) [3]time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return [3]time.Duration{}
	}
	return [3]time.Duration{s[len(s)/2], s[len(s)*99/100], s[len(s)-1]}
}

// slowShares looks at the requests slower than the row's p99 and returns how
// many there are, the share of their wall time the guest ran, and the share
// of them during which a host collection ended.
func slowShares(r *tailRow) (slow int, guestShare, offCPU, withHostGC float64) {
	p99 := percentiles(r.wall)[1]
	var wall, guest, cpu time.Duration
	gc := 0
	for i, d := range r.wall {
		if d <= p99 {
			continue
		}
		slow++
		wall += d
		guest += r.guest[i]
		cpu += r.cpu[i]
		if r.hostGC[i] {
			gc++
		}
	}
	if slow == 0 || wall == 0 {
		return 0, 0, 0, 0
	}
	return slow, float64(guest) / float64(wall), 1 - min(float64(cpu)/float64(wall), 1), float64(gc) / float64(slow)
}

func writeTailTable(b *testing.B, rows []*tailRow, n int) {
	var t strings.Builder
	fmt.Fprintf(&t, "### Plugin: tail latency per request, warm 10,000-entry cache\n\n")
	fmt.Fprintf(&t, "`go test -run '^$' -bench BenchmarkTail -benchtime 1x ./plugin/`: %d requests per row, one after another on one VM "+
		"(hostcalls host, profile %s, guest clock on), build/credgate.wasm with the demo configuration and a real token cluster "+
		"(bbolt) on loopback and a fixed upstream answer (hostcalls.FixedUpstream); the plugin's cache holds 10,000 entries (%d extra API keys and each scheme's credential) and every "+
		"scheme row is a cache hit; the floor (build/floor.wasm, a bare SDK module) and the no-op route in the same run; %s %s/%s, "+
		"GOMAXPROCS=%d. Wall time is the whole stream on this host; guest is the module's own running time (the host's guest "+
		"clock); CPU is the CPU time of the thread that ran the request (the benchmark is pinned to it), so wall minus CPU is time "+
		"spent waiting for a core on this shared machine. \"slow\" are the requests above the row's p99: the share of their "+
		"time spent in the guest, the share spent off CPU, and the share of them during which a host (Go) collection ended. "+
		"Goal: p99 ≤ 2× p50.\n\n",
		n, hostcalls.ProfileEnvoy139, benchKeys, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&t, "| request | cache hits | wall p50 µs | wall p99 µs | wall max µs | p99/p50 | CPU p50 µs | CPU p99 µs | CPU p99/p50 | guest p50 µs | guest p99 µs | guest max µs | host p99 µs | guest GC cycles | host GC cycles | slow: guest | slow: off CPU | slow: host GC |\n")
	fmt.Fprintf(&t, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		w, g, c := percentiles(r.wall), percentiles(r.guest), percentiles(r.cpu)
		host := make([]time.Duration, len(r.wall))
		for i := range r.wall {
			host[i] = r.wall[i] - r.guest[i]
		}
		hp := percentiles(host)
		_, gs, off, hg := slowShares(r)
		hits := fmt.Sprintf("%.0f%%", 100*float64(r.hits)/float64(len(r.wall)))
		if strings.HasPrefix(r.name, "floor") || strings.HasPrefix(r.name, "no-op") || r.name == "jwt" {
			hits = "n/a"
		}
		cycles := strconv.FormatUint(r.guestCycles, 10)
		if strings.HasPrefix(r.name, "floor") {
			cycles = "n/a"
		}
		fmt.Fprintf(&t, "| %s | %s | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | %s | %d | %.0f%% | %.0f%% | %.0f%% |\n",
			r.name, hits, us(w[0]), us(w[1]), us(w[2]), float64(w[1])/float64(max(w[0], 1)), us(c[0]), us(c[1]),
			float64(c[1])/float64(max(c[0], 1)), us(g[0]), us(g[1]), us(g[2]), us(hp[1]), cycles, r.hostCycles, 100*gs, 100*off, 100*hg)
	}
	fmt.Fprintf(&t, "\nGuest GC cycles are the plugin's gc_cycles gauge, refreshed by a tick before and after the row. jwt never asks "+
		"the cluster (no cache hit to count).\n")
	fmt.Println("\n" + t.String())
	if err := benchmd.WriteSection("plugin-tail", t.String()); err != nil {
		b.Errorf("BENCHMARKS.md: %v", err)
	}
}

// writeVMTable measures VM start (instantiate, _initialize, vm_start,
// configure) for the floor and the plugin with the demo configuration, and
// reports linear memory per VM after start and after the tail run.
// vmMemory is linear memory per VM at each step of BenchmarkTail.
type vmMemory struct {
	start, demo, full, after uint64 // the plugin: after start, demo warm-up, 10,000 entries, the tail run
	floorStart, floorAfter   uint64
	heap, goal               uint64 // the plugin's heap gauges after the run
}

func writeVMTable(b *testing.B, plugin, floor *hostcalls.Module, cfg hostcalls.Config, m vmMemory) {
	const starts = 20
	var t strings.Builder
	measure := func(m *hostcalls.Module, c hostcalls.Config) (mean, worst time.Duration) {
		for i := 0; i < starts; i++ {
			s := time.Now()
			h, err := hostcalls.NewHost(context.Background(), m, c)
			d := time.Since(s)
			if err != nil {
				b.Fatal(err)
			}
			_ = h.Close(context.Background())
			mean += d
			worst = max(worst, d)
		}
		return mean / starts, worst
	}
	fm, fw := measure(floor, hostcalls.NewConfig())
	pm, pw := measure(plugin, cfg.WithAutoTick(false))
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	fmt.Fprintf(&t, "### Plugin: linear memory and start time per VM\n\n")
	fmt.Fprintf(&t, "`go test -run '^$' -bench BenchmarkTail -benchtime 1x ./plugin/` (same run as the tail table): VM start is "+
		"instantiate, _initialize, proxy_on_vm_start and proxy_on_configure (mean and worst of %d, hostcalls host, wazero "+
		"compiler, profile %s); linear memory after start, and after the tail run (every scheme, 10,000 cache entries, the "+
		"demo configuration). Envoy runs one VM per worker thread. Goals: ≤ 8 MiB per VM after warm-up, start ≤ 20 ms. %s %s/%s.\n\n",
		starts, hostcalls.ProfileEnvoy139, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&t, "| module | VM start ms (mean / worst) | start × floor | linear MiB after start | after the demo warm-up | with 10,000 cache entries | after the tail run | after the run × floor |\n")
	fmt.Fprintf(&t, "|---|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&t, "| floor (bare SDK module) | %.2f / %.2f | 1.00 | %.1f | | | %.1f | 1.00 |\n", ms(fm), ms(fw), mib(m.floorStart), mib(m.floorAfter))
	fmt.Fprintf(&t, "| credgate, demo configuration | %.2f / %.2f | %.2f | %.1f | %.1f | %.1f | %.1f | %.2f |\n", ms(pm), ms(pw),
		float64(pm)/float64(fm), mib(m.start), mib(m.demo), mib(m.full), mib(m.after), float64(m.after)/float64(max(m.floorAfter, 1)))
	fmt.Fprintf(&t, "\nThe demo warm-up is every scheme's request three times (a handful of cache entries). The plugin's Go heap "+
		"after the run: %.1f MiB in use or not yet swept, collector goal %.1f MiB (its own gauges). Linear memory never "+
		"shrinks: it is the high-water mark of the Go runtime's heap arenas, goroutine stacks and data.\n", mib(m.heap), mib(m.goal))
	fmt.Println("\n" + t.String())
	if err := benchmd.WriteSection("plugin-vm", t.String()); err != nil {
		b.Errorf("BENCHMARKS.md: %v", err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// threadCPU is the calling thread's CPU time (clock_gettime
// CLOCK_THREAD_CPUTIME_ID); the caller locks its goroutine to the thread.
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	_, _, _ = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}
