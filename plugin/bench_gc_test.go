// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/benchmd"
)

// guardVariant is one module measured by BenchmarkCollectorGuard.
type guardVariant struct {
	name, path string
	floor      bool // a bare module: any request goes on untouched
}

// BenchmarkCollectorGuard measures what the collector guard costs per
// request: the shipped module against the same module built without the
// guard (`build-wasm.sh --unguarded`), in the same run, with the floor module
// (build/floor.wasm, a bare SDK module that continues every request) as the floor
// and the plugin's no-op route as the baseline. Besides wall time it reports
// the guest's own running time per request (the host's guest clock), which
// isolates the module's work from the host's. It prints a table and writes
// it to BENCHMARKS.md.
func BenchmarkCollectorGuard(b *testing.B) {
	variants := []guardVariant{
		{"bare module (floor)", floorPath, true},
		{"unguarded", filepath.Join("..", "build", "credgate-unguarded.wasm"), false},
		{"guarded (shipped)", wasmPath, false},
	}
	filler := make([][2]string, 40)
	for j := range filler {
		filler[j] = [2]string{fmt.Sprintf("x-filler-%d", j), strings.Repeat("x", 1024)}
	}
	cases := []benchCase{
		benchCases()[0],
		benchCases()[1],
		{name: "no credentials, 40 KiB of headers → 401", method: "POST", path: "/Orders/Create", status: 401,
			headers: func(testing.TB) [][2]string { return filler }},
	}
	type cell struct {
		wall, guest time.Duration
		calls       float64
	}
	results := map[string]cell{}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			// One host per variant; each iteration sends the request to every
			// variant in turn (in a rotating order), so drift in the machine's
			// speed and cache effects hit all alike.
			type run struct {
				v     guardVariant
				h     *hostcalls.Host
				req   hostcalls.Request
				want  int
				wall  time.Duration
				guest time.Duration
				calls uint64
			}
			var runs []*run
			for _, v := range variants {
				if v.floor && c.name != cases[0].name {
					continue
				}
				cfg := baseConfig(scenarioConfig, scenarioNow).WithGuestTimeClock(true).WithUpstream(benchUpstream)
				want := c.status
				if v.floor {
					cfg, want = hostcalls.NewConfig().WithGuestTimeClock(true).WithUpstream(benchUpstream), 0
				}
				h, err := hostcalls.NewHost(context.Background(), compiledFile(b, v.path, hostcalls.ProfileEnvoy139), cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close(context.Background())
				runs = append(runs, &run{v: v, h: h, want: want,
					req: hostcalls.Request{Method: c.method, Path: c.path, Authority: "api.example", Headers: c.headers(b)}})
			}
			sumCalls := func(h *hostcalls.Host) (n uint64) {
				for _, v := range h.Calls() {
					n += v
				}
				return n
			}
			for _, r := range runs {
				r.guest, r.calls = r.h.GuestTime()[0], sumCalls(r.h)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range runs {
					r := runs[(i+j)%len(runs)] // rotate, so no variant always runs after another
					start := time.Now()
					res, err := r.h.Do(context.Background(), r.req)
					r.wall += time.Since(start)
					if err != nil || (r.want != 0) != (res.LocalResponse != nil) {
						b.Fatalf("%s: unexpected outcome: %v %+v", r.v.name, err, res)
					}
				}
			}
			n := time.Duration(b.N)
			for _, r := range runs {
				guest := (r.h.GuestTime()[0] - r.guest) / n
				calls := float64(sumCalls(r.h)-r.calls) / float64(b.N)
				results[r.v.name+"|"+c.name] = cell{r.wall / n, guest, calls}
				b.ReportMetric(us(guest), strings.Fields(r.v.name)[0]+"-guest-µs/op")
			}
		})
	}
	if len(results) < 2*len(cases)+1 || results[variants[0].name+"|"+cases[0].name].wall == 0 {
		return // a filtered run; keep the committed table
	}
	var t strings.Builder
	fmt.Fprintf(&t, "### Plugin: cost of the collector guard per request\n\n")
	fmt.Fprintf(&t, "`go test -run '^$' -bench BenchmarkCollectorGuard ./plugin/`: build/credgate.wasm against the same module "+
		"built without the guard (`build-wasm.sh --unguarded`), same run, hostcalls host (wazero compiler, profile %s, a fixed upstream answer), "+
		"%s %s/%s, GOMAXPROCS=%d. \"guest µs\" is the module's own running time per request (the host's guest clock: "+
		"callbacks and allocations, not the host functions); \"wall µs\" is the whole stream on this host. The floor is "+
		"build/floor.wasm, a bare module on the same SDK and build that continues every request.\n\n",
		hostcalls.ProfileEnvoy139, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&t, "| request | unguarded wall µs | guarded wall µs | unguarded guest µs | guarded guest µs | guest cost of the guard | host calls unguarded / guarded |\n|---|---:|---:|---:|---:|---:|---:|\n")
	fl := results[variants[0].name+"|"+cases[0].name]
	fmt.Fprintf(&t, "| floor: bare module | %.1f | | %.1f | | | %.2f |\n", us(fl.wall), us(fl.guest), fl.calls)
	for _, c := range cases {
		u, g := results["unguarded|"+c.name], results["guarded (shipped)|"+c.name]
		fmt.Fprintf(&t, "| %s | %.1f | %.1f | %.1f | %.1f | %+.1f µs (%+.1f%%) | %.2f / %.2f |\n", c.name, us(u.wall), us(g.wall),
			us(u.guest), us(g.guest), us(g.guest-u.guest), 100*(float64(g.guest)/float64(u.guest)-1), u.calls, g.calls)
	}
	fmt.Println("\n" + t.String())
	if err := benchmd.WriteSection("plugin-gc-guard", t.String()); err != nil {
		b.Errorf("BENCHMARKS.md: %v", err)
	}
}
