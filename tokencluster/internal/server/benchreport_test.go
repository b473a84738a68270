// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	benchBegin = "<!-- tokencluster:begin -->"
	benchEnd   = "<!-- tokencluster:end -->"
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
	if len(benchResults.m) > 0 {
		table := benchResults.table()
		fmt.Print("\n" + table)
		if code != 0 {
			fmt.Println("\nBENCHMARKS.md not updated: the run failed.")
		} else if !benchResults.complete() {
			fmt.Println("\nBENCHMARKS.md not updated: partial run (every kind on bbolt, and on redis unless it was skipped).")
		} else if err := writeBenchmarks(table); err != nil {
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
	b.WriteString("| kind | endpoint | bbolt (verifications/s) | redis (verifications/s) |\n|---|---|---:|---:|\n")
	for _, bc := range benchCases {
		ep := "/v1/verify"
		if bc.kind == "oauth2" || bc.kind == "session" {
			ep = "/introspect"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", bc.kind, ep, r.cell("bbolt", bc.kind), r.cell("redis", bc.kind))
	}
	b.WriteString("\nThe session case advances the clock one second per call, so every verification slides the\n" +
		"expiry and writes; sso consumes its token (one write). On bbolt each write is an fsync, so those two\n" +
		"kinds measure the disk. Other kinds only read. Numbers vary with the machine's load between runs.\n")
	return b.String()
}

func (r *results) cell(backend, kind string) string {
	v, n := r.median(backend, kind)
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

// writeBenchmarks replaces the token cluster section of BENCHMARKS.md at the
// module root, creating the file or the section when missing and keeping
// every other section.
func writeBenchmarks(table string) error {
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("go.mod not found")
		}
		dir = parent
	}
	path := filepath.Join(dir, "BENCHMARKS.md")
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(path, []byte(spliceSection(string(old), table)), 0o644)
}

func spliceSection(doc, table string) string {
	section := benchBegin + "\n" + table + benchEnd
	if doc == "" {
		doc = "# Benchmarks\n"
	}
	i, j := strings.Index(doc, benchBegin), strings.Index(doc, benchEnd)
	if i >= 0 && j > i {
		return doc[:i] + section + doc[j+len(benchEnd):]
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + section + "\n"
}

func TestSpliceSection(t *testing.T) {
	t.Parallel()
	other := "# Benchmarks\n\n<!-- plugin:begin -->\nplugin table\n<!-- plugin:end -->\n"
	first := spliceSection(other, "T1\n")
	if !strings.Contains(first, "plugin table") || !strings.Contains(first, benchBegin+"\nT1\n"+benchEnd) {
		t.Fatalf("append: %q", first)
	}
	second := spliceSection(first+"\ntrailer\n", "T2\n")
	if strings.Contains(second, "T1") || !strings.Contains(second, "T2") || !strings.Contains(second, "trailer") ||
		!strings.Contains(second, "plugin table") {
		t.Fatalf("replace: %q", second)
	}
	if got := spliceSection("", "T\n"); !strings.HasPrefix(got, "# Benchmarks\n\n"+benchBegin) {
		t.Fatalf("create: %q", got)
	}
}
