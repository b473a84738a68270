// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/credgate/credgate/internal/benchmd"
	"github.com/credgate/credgate/plugin/internal/authn"
)

// BenchmarkDecision measures the plugin's decision path per scheme, natively:
// build the request view from header pairs, Decide, and Finish with a cached
// answer (what a cache hit costs besides the proxy calls). The same Go code
// runs in the module, so allocations per request carry over; time does not
// (the module runs it several times slower). It writes the allocation table
// to BENCHMARKS.md.
func BenchmarkDecision(b *testing.B) {
	type row struct {
		name           string
		ns             float64
		allocs, bytes_ int64
	}
	var rows []row
	for _, tc := range policyCases() {
		if tc.status != 0 {
			continue
		}
		route := `{"name":"r","match":{"prefix":"/"},"scopes":["read"],"schemes":[` + tc.schemes + `]`
		if tc.options != "" {
			route += `,"options":{` + tc.options + `}`
		}
		cfg, err := Parse(schemeDoc(`"jwt":{"keys":[`+key+`]},`, route+`}`))
		if err != nil {
			b.Fatal(err)
		}
		rt := cfg.Policy.Routes[0]
		pairs := dedupe(append([][2]string{{":method", "GET"}, {":path", "/x"}, {":authority", "api.example"}}, tc.headers...))
		decide := func() {
			r := authn.NewHeaderRequest(pairs)
			d := rt.Decide(r, testNow)
			if d.Lookup != nil {
				d = rt.Finish(r, d.Verifier.(authn.RemoteVerifier), tc.answer, testNow)
			}
			if d.Identity == nil {
				b.Fatalf("%s: denied %v", tc.name, d.Deny)
			}
		}
		var ns float64
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				decide()
			}
			ns = float64(b.Elapsed()) / float64(b.N)
		})
		allocs, bytes := allocsPerRun(200, decide)
		rows = append(rows, row{tc.name, ns, allocs, bytes})
	}
	if len(rows) == 0 || rows[0].ns == 0 {
		return // a filtered run; keep the committed table
	}
	var t strings.Builder
	fmt.Fprintf(&t, "### Plugin: allocations per request in the decision path\n\n")
	fmt.Fprintf(&t, "`go test -run '^$' -bench BenchmarkDecision ./plugin/internal/config/`: request view from the "+
		"header pairs, Decide, and Finish with a cached token-cluster answer, natively (%s %s/%s). The module runs the same "+
		"code, so allocations carry over; the proxy calls (reading headers, setting identity headers) add their own.\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&t, "| scheme (case) | ns/op native | allocs/op | bytes/op |\n|---|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&t, "| %s | %.0f | %d | %d |\n", r.name, r.ns, r.allocs, r.bytes_)
	}
	fmt.Println("\n" + t.String())
	if err := benchmd.WriteSection("plugin-allocs", t.String()); err != nil {
		b.Errorf("BENCHMARKS.md: %v", err)
	}
}

// allocsPerRun returns the mean heap allocations and bytes of one call.
func allocsPerRun(runs int, f func()) (allocs, bytes int64) {
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return int64(after.Mallocs-before.Mallocs) / int64(runs), int64(after.TotalAlloc-before.TotalAlloc) / int64(runs)
}
