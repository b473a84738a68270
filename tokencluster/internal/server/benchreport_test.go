// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/credgate/credgate/internal/benchmd"
)

// benchResults collects verifications/s per store and kind across -count runs.
var benchResults = &results{m: map[[2]string][]float64{}}

type results struct {
	mu sync.Mutex
	m  map[[2]string][]float64
}

func (r *results) add(backend, kind string, rate float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := [2]string{backend, kind}
	r.m[k] = append(r.m[k], rate)
}

func (r *results) median(backend, kind string) (float64, int) {
	v := slices.Clone(r.m[[2]string{backend, kind}])
	if len(v) == 0 {
		return 0, 0
	}
	slices.Sort(v)
	return v[len(v)/2], len(v)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkOpenAPICoverage(); err != nil {
			fmt.Println("FAIL:", err)
			code = 1
		}
	}
	if len(benchResults.m) > 0 {
		table := benchResults.table()
		fmt.Print("\n" + table)
		if code != 0 {
			fmt.Println("\nBENCHMARKS.md not updated: the run failed.")
		} else if !benchResults.complete() {
			fmt.Println("\nBENCHMARKS.md not updated: partial run (every kind on bbolt, and on redis unless it was skipped).")
		} else if err := benchmd.WriteSection("tokencluster", table); err != nil {
			fmt.Fprintln(os.Stderr, "BENCHMARKS.md:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// complete reports whether every kind ran on bbolt, and on redis too unless redis ran nothing.
func (r *results) complete() bool {
	redisRan := false
	for _, bc := range benchCases {
		if _, n := r.median("redis", bc.kind); n > 0 {
			redisRan = true
		}
	}
	for _, bc := range benchCases {
		_, nb := r.median("bbolt", bc.kind)
		_, nr := r.median("redis", bc.kind)
		if nb == 0 || redisRan && nr == 0 {
			return false
		}
	}
	return true
}

func (r *results) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Token cluster: verifications per second\n\n")
	fmt.Fprintf(&b, "`go test -run '^$' -bench BenchmarkVerify ./tokencluster/internal/server/` — real HTTP on a loopback\n")
	fmt.Fprintf(&b, "port, GOMAXPROCS=%d concurrent callers, keep-alive; median of the runs; %s %s/%s.\n\n",
		runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	b.WriteString("| kind | endpoint | bbolt (verifications/s) | redis (verifications/s) | bbolt × redis |\n|---|---|---:|---:|---:|\n")
	for _, bc := range benchCases {
		ep := "/v1/verify"
		if bc.kind == "oauth2" || bc.kind == "session" {
			ep = "/introspect"
		}
		ratio := "n/a"
		if vb, nb := r.median("bbolt", bc.kind); nb > 0 {
			if vr, nr := r.median("redis", bc.kind); nr > 0 && vr > 0 {
				ratio = fmt.Sprintf("%.2f", vb/vr)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", bc.kind, ep, r.cell("bbolt", bc.kind), r.cell("redis", bc.kind), ratio)
	}
	b.WriteString("\nThe session case advances the clock one second per call, so every verification slides the\n" +
		"expiry and writes; sso consumes its token (one write). On bbolt each write is an fsync, so those two\n" +
		"kinds measure the disk. Other kinds only read; on bbolt their records come from the store's decoded-record\n" +
		"cache once warm. The callers run in the same process: scripts/loadgen (next table) measures from another one.\n" +
		"Numbers vary with the machine's load between runs.\n")
	return b.String()
}

func (r *results) cell(backend, kind string) string {
	v, n := r.median(backend, kind)
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}
