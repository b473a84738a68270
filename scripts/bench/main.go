// SPDX-License-Identifier: Apache-2.0

// Command bench is `make bench`: it runs every benchmark that writes a
// section of BENCHMARKS.md, one after another in one run, printing their
// progress, then the token cluster load generator, and writes the run's own
// section (machine load at start and end, each step's duration, the store
// path benchmark) at the top of BENCHMARKS.md. Sections it does not produce
// (the soak) are kept.
//
//	go run ./scripts/bench [-quick]
//
// -quick sends 10,000 requests per tail row instead of 100,000 (also set by
// CREDGATE_TAIL_REQUESTS).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/credgate/credgate/internal/benchmd"
	"github.com/credgate/credgate/internal/modroot"
)

// step is one command of the run.
type step struct {
	name string
	args []string
	// keep collects the output lines to quote in the run section.
	keep func(line string) bool
}

func main() {
	quick := flag.Bool("quick", false, "10,000 requests per tail row instead of 100,000")
	flag.Parse()
	root, err := modroot.Find()
	if err != nil {
		fail(err)
	}
	if err := os.Chdir(root); err != nil {
		fail(err)
	}
	if *quick && os.Getenv("CREDGATE_TAIL_REQUESTS") == "" {
		_ = os.Setenv("CREDGATE_TAIL_REQUESTS", "10000")
	}
	gotest := func(bench, benchtime, pkg string) []string {
		return []string{"go", "test", "-run", "^$", "-bench", bench, "-benchtime", benchtime, "-benchmem", "-timeout", "30m", pkg}
	}
	steps := []step{
		{name: "plugin: floor, no-op route, jwt; host allocations; VM start", args: gotest("^BenchmarkPlugin$", "1s", "./plugin/")},
		{name: "plugin: every scheme, cache hit and miss", args: gotest("^BenchmarkSchemes$", "0.5s", "./plugin/")},
		{name: "plugin: the collector guard's cost", args: gotest("^BenchmarkCollectorGuard$", "0.5s", "./plugin/")},
		{name: "plugin: tail latency with a warm 10,000-entry cache; memory and start per VM", args: gotest("^BenchmarkTail$", "1x", "./plugin/")},
		{name: "plugin: decision path allocations (native)", args: gotest("^BenchmarkDecision", "1s", "./plugin/internal/config/")},
		{name: "token cluster: store path of a verification (bbolt)", args: gotest("^BenchmarkVerifyReads$", "1s", "./tokencluster/internal/store/bbolt/"),
			keep: func(l string) bool { return strings.HasPrefix(l, "BenchmarkVerifyReads") }},
		{name: "token cluster: verifications/s in process, bbolt and redis", args: gotest("^BenchmarkVerify$", "1s", "./tokencluster/internal/server/")},
		{name: "token cluster: load from another process", args: []string{"go", "run", "./scripts/loadgen", "-write", "-duration", "4s"}},
	}
	load0 := loadavg()
	begin := time.Now()
	fmt.Printf("bench: %d steps; load average %s; %s %s/%s, %d CPUs\n", len(steps), load0, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	var report strings.Builder
	var kept []string
	for i, s := range steps {
		fmt.Printf("\nbench: [%d/%d] %s: %s\n", i+1, len(steps), s.name, strings.Join(s.args, " "))
		start := time.Now()
		lines, err := run(s.args)
		d := time.Since(start)
		if err != nil {
			fail(fmt.Errorf("%s: %w", s.name, err))
		}
		fmt.Printf("bench: [%d/%d] done in %.0fs (load average %s)\n", i+1, len(steps), d.Seconds(), loadavg())
		fmt.Fprintf(&report, "| %s | `%s` | %.0f |\n", s.name, strings.Join(s.args, " "), d.Seconds())
		if s.keep != nil {
			for _, l := range lines {
				if s.keep(l) {
					kept = append(kept, l)
				}
			}
		}
	}
	load1 := loadavg()
	var t strings.Builder
	fmt.Fprintf(&t, "### This run\n\n")
	fmt.Fprintf(&t, "Every table below, except the soak, comes from one `make bench` run (`go run ./scripts/bench`) of %.1f minutes "+
		"ending %s, on %d CPUs shared with other work: load average (1, 5, 15 min) %s at the start and %s at the end. "+
		"Timings on a loaded machine are noisy; compare rows of one table (measured side by side in the same run), and "+
		"the ratio columns, rather than absolute values across runs. %s %s/%s.\n\n",
		time.Since(begin).Minutes(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), load0, load1,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&t, "| step | command | seconds |\n|---|---|---:|\n%s", report.String())
	if len(kept) > 0 {
		fmt.Fprintf(&t, "\nThe token cluster's store path for an api_key verification (the key by its digest and its tenant: "+
			"one read, as the server asks it, and a lookup then a get for comparison), bbolt, warm:\n\n```\n%s\n```\n", strings.Join(kept, "\n"))
	}
	if err := benchmd.WriteSection("bench-run", t.String()); err != nil {
		fail(err)
	}
	fmt.Printf("\nbench: BENCHMARKS.md written in %.1f minutes; load average %s → %s\n", time.Since(begin).Minutes(), load0, load1)
}

// run runs args with the output streamed, and returns the output lines.
func run(args []string) ([]string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(io.TeeReader(out, os.Stdout))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, cmd.Wait()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
