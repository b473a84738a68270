// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/benchmd"
)

// benchCase is one kind of request measured against the no-op route.
type benchCase struct {
	name    string
	method  string
	path    string
	headers func(t testing.TB) [][2]string
	status  int
}

func benchCases() []benchCase {
	return []benchCase{
		{name: "no-op route (anonymous)", method: "GET", path: "/healthz", headers: func(testing.TB) [][2]string { return nil }},
		{name: "jwt valid → upstream", method: "POST", path: "/Orders/Create", headers: func(t testing.TB) [][2]string {
			return [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK1, "k1", nil)}}
		}},
		{name: "jwt bad signature → 401", method: "POST", path: "/Orders/Create", status: 401, headers: func(t testing.TB) [][2]string {
			return [][2]string{{"authorization", "Bearer " + token(t, "wrong-secret-0123456789abcdef012345", "k1", nil)}}
		}},
		{name: "no credentials → 401", method: "POST", path: "/Orders/Create", status: 401, headers: func(testing.TB) [][2]string { return nil }},
	}
}

// BenchmarkPlugin measures whole requests through build/credgate.wasm on the
// hostcalls host (create context, request headers, a fixed upstream answer, response
// headers, log, delete) for each case, with the floor module
// (build/floor.wasm) and the no-op route measured in the same run as the
// baselines, and what the host allocates per request (Go heap; the guest's
// allocations stay in its linear memory), then VM start-up. It prints a table
// and writes it to BENCHMARKS.md.
func BenchmarkPlugin(b *testing.B) {
	p := hostcalls.ProfileEnvoy139
	compileStart := time.Now()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		b.Fatalf("%s: %v (run make build)", wasmPath, err)
	}
	m, err := hostcalls.Compile(context.Background(), wasm, p)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
	compile := time.Since(compileStart)
	floor := compiledFile(b, floorPath, p)
	perReq := map[string]pluginCell{}
	run := func(name string, m *hostcalls.Module, cfg hostcalls.Config, req hostcalls.Request, wantLocal bool) {
		b.Run(name, func(b *testing.B) {
			h, err := hostcalls.NewHost(context.Background(), m, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			for i := 0; i < 100; i++ { // every export resolved, buffers grown
				_, _ = h.Do(context.Background(), req)
			}
			b.ReportAllocs()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := h.Do(context.Background(), req)
				if err != nil || wantLocal != (res.LocalResponse != nil) {
					b.Fatalf("unexpected outcome: %v %+v", err, res)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			n := uint64(b.N)
			perReq[name] = pluginCell{d: b.Elapsed() / time.Duration(b.N), allocs: (m1.Mallocs - m0.Mallocs) / n,
				bytes: (m1.TotalAlloc - m0.TotalAlloc) / n}
		})
	}
	run(floorName, floor, hostcalls.NewConfig().WithUpstream(benchUpstream), hostcalls.Request{Method: "GET", Path: "/healthz", Authority: "api.example"}, false)
	for _, bc := range benchCases() {
		run(bc.name, m, baseConfig(scenarioConfig, scenarioNow).WithUpstream(benchUpstream),
			hostcalls.Request{Method: bc.method, Path: bc.path, Authority: "api.example", Headers: bc.headers(b)}, bc.status != 0)
	}
	var start time.Duration
	b.Run("vm start", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			h, err := hostcalls.NewHost(context.Background(), m, baseConfig(scenarioConfig, scenarioNow))
			if err != nil {
				b.Fatal(err)
			}
			_ = h.Close(context.Background())
		}
		start = b.Elapsed() / time.Duration(b.N)
	})
	writePluginTable(b, len(wasm), compile, start, perReq)
}

const floorName = "floor (bare SDK module)"

// pluginCell is one request kind's time and host allocations per request.
type pluginCell struct {
	d             time.Duration
	allocs, bytes uint64
}

func writePluginTable(b *testing.B, size int, compile, start time.Duration, perReq map[string]pluginCell) {
	base, fl := perReq[benchCases()[0].name], perReq[floorName]
	if base.d == 0 || fl.d == 0 || len(perReq) < len(benchCases())+1 {
		return // a filtered run; keep the committed table
	}
	var t strings.Builder
	fmt.Fprintf(&t, "### Plugin: time per request through build/credgate.wasm\n\n")
	fmt.Fprintf(&t, "`go test -run '^$' -bench BenchmarkPlugin ./plugin/` on the hostcalls host (wazero compiler, profile %s), "+
		"%s %s/%s, GOMAXPROCS=%d. A request is the whole stream: context create, request headers, the upstream's "+
		"answer, response headers, log, delete; the upstream is hostcalls.FixedUpstream, the same answer to every request "+
		"without reading it, so the rows differ by what the plugin does, not by the headers a simulated upstream copies "+
		"(in Envoy the router pays for the upstream, not the filter). The floor (build/floor.wasm: a bare module on the same SDK and build, continuing "+
		"every callback) and the no-op route are measured in the same run. Host allocations are the Go heap of the host "+
		"process per request (the host and the result it returns); the guest's own allocations "+
		"stay in its linear memory.\n\n",
		hostcalls.ProfileEnvoy139, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&t, "| request | µs/request | × floor | × no-op | over no-op (µs) | host allocs/request | host KiB/request |\n|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, c pluginCell) {
		fmt.Fprintf(&t, "| %s | %.1f | %.2f | %.2f | %+.1f | %d | %.1f |\n", name, us(c.d), float64(c.d)/float64(fl.d),
			float64(c.d)/float64(base.d), us(c.d-base.d), c.allocs, float64(c.bytes)/1024)
	}
	row(floorName, fl)
	for _, bc := range benchCases() {
		row(bc.name, perReq[bc.name])
	}
	fmt.Fprintf(&t, "\nModule: %d bytes (%.1f MiB). Compile: %v (once per host process). VM start (instantiate, "+
		"_initialize, vm_start, configure): %.2f ms.\n", size, float64(size)/(1<<20), compile.Round(time.Millisecond), float64(start)/1e6)
	fmt.Println("\n" + t.String())
	if err := benchmd.WriteSection("plugin", t.String()); err != nil {
		b.Errorf("BENCHMARKS.md: %v", err)
	}
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }
