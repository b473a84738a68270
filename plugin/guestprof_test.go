// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
)

type profNode struct {
	calls int
	self  time.Duration
	incl  time.Duration
}

type profiler struct {
	on    bool
	stack []struct {
		name  string
		start time.Time
		child time.Duration
	}
	fn     map[string]*profNode
	allocs map[string]int
	only   *regexp.Regexp // when set, only the functions it matches are timed
}

func (p *profiler) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	name := def.DebugName()
	if p.only != nil && !p.only.MatchString(name) {
		return nil // untimed: its time counts in its nearest timed caller's self time
	}
	return &profListener{p: p, name: name}
}

type profListener struct {
	p    *profiler
	name string
}

func (l *profListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if l.p.on && strings.HasPrefix(l.name, ".runtime.mallocgc") && !(len(l.p.stack) > 0 && strings.HasPrefix(l.p.stack[len(l.p.stack)-1].name, ".runtime.mallocgc")) {
		where := "?"
		for i := len(l.p.stack) - 1; i >= 0; i-- {
			n := l.p.stack[i].name
			if strings.Contains(n, "credgate") || strings.Contains(n, "proxywasm") || strings.Contains(n, "gjson") {
				where = n
				if i > 0 {
					where = l.p.stack[i-1].name + " > " + n
				}
				break
			}
		}
		l.p.allocs[where]++
	}
	l.p.stack = append(l.p.stack, struct {
		name  string
		start time.Time
		child time.Duration
	}{l.name, time.Now(), 0})
}

func (l *profListener) After(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64) {
	p := l.p
	n := len(p.stack) - 1
	if n < 0 {
		return
	}
	top := p.stack[n]
	p.stack = p.stack[:n]
	d := time.Since(top.start)
	if n > 0 {
		p.stack[n-1].child += d
	}
	if !p.on {
		return
	}
	e := p.fn[top.name]
	if e == nil {
		e = &profNode{}
		p.fn[top.name] = e
	}
	e.calls++
	e.self += d - top.child
	e.incl += d
}

func (l *profListener) Abort(ctx context.Context, m api.Module, d api.FunctionDefinition, _ error) {
	l.After(ctx, m, d, nil)
}

// TestGuestProfile profiles each scheme's cache hit inside the module: for
// 200 requests, every guest function's calls, self and inclusive time
// (wazero function listeners; the listener's own cost inflates every figure,
// so compare shares, not microseconds) and the heap allocations by calling
// site. It needs a module with function names:
//
//	WASM_STRIP=0 ./scripts/build-wasm.sh /tmp/named.wasm
//	CREDGATE_GUEST_PROFILE=/tmp/named.wasm [CREDGATE_GUEST_PROFILE_SCHEME=api_key] \
//	  go test -run TestGuestProfile ./plugin/
//
// With CREDGATE_GUEST_PROFILE_MISS=1 the cache is off, so it profiles misses.
// CREDGATE_GUEST_PROFILE_FUNCS, a regular expression, times only the
// functions whose names it matches: the listener's cost then stays small next
// to theirs, and each one's self time includes its untimed callees.
//
// and writes one report per scheme into CREDGATE_GUEST_PROFILE_DIR (default
// the test's temporary directory, printed).
func TestGuestProfile(t *testing.T) {
	if os.Getenv("CREDGATE_GUEST_PROFILE") == "" {
		t.Skip("set CREDGATE_GUEST_PROFILE to a module with function names")
	}
	prof := &profiler{fn: map[string]*profNode{}, allocs: map[string]int{}}
	if re := os.Getenv("CREDGATE_GUEST_PROFILE_FUNCS"); re != "" {
		prof.only = regexp.MustCompile(re)
	}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), prof)
	wasm, err := os.ReadFile(os.Getenv("CREDGATE_GUEST_PROFILE"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := hostcalls.Compile(ctx, wasm, hostcalls.ProfileEnvoy139)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CREDGATE_GUEST_PROFILE_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	tc := testcluster.Start(t, seedFile)
	conf := clusterConfig
	if os.Getenv("CREDGATE_GUEST_PROFILE_MISS") != "" { // every request asks the token cluster
		conf = strings.Replace(conf, `"cache": {"negative_ttl_seconds": 1}`, `"cache": {"max_entries": 0}`, 1)
	}
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(conf)).WithCluster("token_cluster", tc.URL).WithAutoTick(true)
	host, err := hostcalls.NewHost(ctx, mod, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(ctx)
	e := &clusterEnv{tc: tc, host: host}
	waitCursor(t, e)
	for _, sb := range schemeBenches() {
		if want := os.Getenv("CREDGATE_GUEST_PROFILE_SCHEME"); want != "" && !strings.Contains(sb.scheme, want) {
			continue
		}
		req := benchRequest(sb.method, sb.path, sb.headers(t, e))
		for i := 0; i < 20; i++ {
			host.Do(ctx, req)
		}
		clear(prof.fn)
		clear(prof.allocs)
		prof.on = true
		const n = 200
		for i := 0; i < n; i++ {
			res, err := host.Do(ctx, req)
			if err != nil || res.Upstream == nil {
				t.Fatalf("%s: %v", sb.scheme, err)
			}
		}
		prof.on = false
		type row struct {
			name string
			*profNode
		}
		var rows []row
		var total time.Duration
		for k, v := range prof.fn {
			rows = append(rows, row{k, v})
			total += v.self
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].self > rows[j].self })
		var b strings.Builder
		fmt.Fprintf(&b, "== %s: guest self total %.1f us/request\n", sb.scheme, float64(total.Microseconds())/n)
		for i, r := range rows {
			if i >= 400 {
				break
			}
			fmt.Fprintf(&b, "%6.1f%% self %7.2fus incl %7.2fus calls/req %7.1f %s\n", 100*float64(r.self)/float64(total), float64(r.self.Nanoseconds())/1000/n, float64(r.incl.Nanoseconds())/1000/n, float64(r.calls)/n, r.name)
		}
		// inclusive view of plugin functions
		sort.Slice(rows, func(i, j int) bool { return rows[i].incl > rows[j].incl })
		fmt.Fprintf(&b, "-- inclusive (credgate/sdk)\n")
		k := 0
		for _, r := range rows {
			if !strings.Contains(r.name, "credgate") && !strings.Contains(r.name, "proxywasm") && !strings.Contains(r.name, "gjson") && !strings.Contains(r.name, "sha256") {
				continue
			}
			if k++; k > 40 {
				break
			}
			fmt.Fprintf(&b, "incl %7.2fus calls/req %6.1f %s\n", float64(r.incl.Nanoseconds())/1000/n, float64(r.calls)/n, r.name)
		}
		fmt.Fprintf(&b, "-- allocations per request by site\n")
		type arow struct {
			k string
			n int
		}
		var ar []arow
		for k, v := range prof.allocs {
			ar = append(ar, arow{k, v})
		}
		sort.Slice(ar, func(i, j int) bool { return ar[i].n > ar[j].n })
		for _, a := range ar {
			fmt.Fprintf(&b, "%6.2f %s\n", float64(a.n)/n, a.k)
		}
		out := filepath.Join(dir, strings.Fields(sb.scheme)[0]+".txt")
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", sb.scheme, out)
	}
}
