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
// hostcalls host (create context, request headers, upstream echo, response
// headers, log, delete) for each case, with the no-op route measured in the
// same run as the baseline, then VM start-up. It prints a table and writes it
// to BENCHMARKS.md.
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
	perReq := map[string]time.Duration{}
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			h, err := hostcalls.NewHost(context.Background(), m, baseConfig(scenarioConfig, scenarioNow))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			req := hostcalls.Request{Method: bc.method, Path: bc.path, Authority: "api.example", Headers: bc.headers(b)}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := h.Do(context.Background(), req)
				if err != nil || (bc.status != 0) != (res.LocalResponse != nil) {
					b.Fatalf("unexpected outcome: %v %+v", err, res)
				}
			}
			perReq[bc.name] = b.Elapsed() / time.Duration(b.N)
		})
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

func writePluginTable(b *testing.B, size int, compile, start time.Duration, perReq map[string]time.Duration) {
	base := perReq[benchCases()[0].name]
	if base == 0 {
		return // a filtered run; keep the committed table
	}
	var t strings.Builder
	fmt.Fprintf(&t, "### Plugin: time per request through build/credgate.wasm\n\n")
	fmt.Fprintf(&t, "`go test -run '^$' -bench BenchmarkPlugin ./plugin/` on the hostcalls host (wazero compiler, profile %s), "+
		"%s %s/%s, GOMAXPROCS=%d. A request is the whole stream: context create, request headers, upstream echo, "+
		"response headers, log, delete. The no-op route is measured in the same run as the baseline.\n\n",
		hostcalls.ProfileEnvoy139, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&t, "| request | µs/request | over no-op (µs) |\n|---|---:|---:|\n")
	for _, bc := range benchCases() {
		d := perReq[bc.name]
		fmt.Fprintf(&t, "| %s | %.1f | %+.1f |\n", bc.name, us(d), us(d-base))
	}
	fmt.Fprintf(&t, "\nModule: %d bytes (%.1f MiB). Compile: %v (once per host process). VM start (instantiate, "+
		"_initialize, vm_start, configure): %.2f ms.\n", size, float64(size)/(1<<20), compile.Round(time.Millisecond), float64(start)/1e6)
	fmt.Println("\n" + t.String())
	if err := benchmd.WriteSection("plugin", t.String()); err != nil {
		b.Errorf("BENCHMARKS.md: %v", err)
	}
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }
