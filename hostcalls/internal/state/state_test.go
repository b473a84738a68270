// SPDX-License-Identifier: Apache-2.0

package state_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/credgate/credgate/hostcalls/internal/state"
)

// P goroutines × N compare-and-swap increments lose no update.
func TestSharedDataHammer(t *testing.T) {
	t.Parallel()
	const P, N = 16, 500
	s := state.NewSharedData()
	// A cas of 0 writes unconditionally, so the key must exist before the
	// writers race: a writer that found it missing would reset it.
	s.Set("k", []byte("0"), 0)
	var wg sync.WaitGroup
	for p := 0; p < P; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < N; n++ {
				for {
					v, cas, _ := s.Get("k")
					cur, _ := strconv.Atoi(string(v))
					if s.Set("k", []byte(strconv.Itoa(cur+1)), cas) == state.OK {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if v, _, _ := s.Get("k"); string(v) != strconv.Itoa(P*N) {
		t.Fatalf("k = %s, want %d", v, P*N)
	}
}

func TestSharedDataCAS(t *testing.T) {
	t.Parallel()
	s := state.NewSharedData()
	if _, _, st := s.Get("k"); st != state.NotFound {
		t.Fatalf("missing key: %v", st)
	}
	if st := s.Set("k", []byte("a"), 42); st != state.OK {
		t.Fatalf("a cas on a missing key is ignored, got %v", st)
	}
	_, cas, _ := s.Get("k")
	if st := s.Set("k", []byte("b"), cas+1); st != state.CasMismatch {
		t.Fatalf("stale cas: %v", st)
	}
	if st := s.Set("k", []byte("b"), cas); st != state.OK {
		t.Fatalf("current cas: %v", st)
	}
	if st := s.Set("k", []byte("c"), 0); st != state.OK {
		t.Fatalf("cas 0 always writes: %v", st)
	}
	if v, cas2, _ := s.Get("k"); string(v) != "c" || cas2 == cas || cas2 == 0 {
		t.Fatalf("k = %q cas %d", v, cas2)
	}
}

func TestQueues(t *testing.T) {
	t.Parallel()
	q := state.NewQueues()
	owner := state.QueueOwner{VM: 1, Context: 1}
	tok := q.Register("vm", "q", owner)
	if again := q.Register("vm", "q", owner); again != tok {
		t.Fatalf("re-register: %d != %d", again, tok)
	}
	if _, st := q.Resolve("vm", "other"); st != state.NotFound {
		t.Fatalf("resolve unknown: %v", st)
	}
	if got, st := q.Resolve("vm", "q"); got != tok || st != state.OK {
		t.Fatalf("resolve: %d %v", got, st)
	}
	if _, st := q.Dequeue(tok); st != state.Empty {
		t.Fatalf("empty queue: %v", st)
	}
	if o, st := q.Enqueue(tok, []byte("1")); st != state.OK || o != owner {
		t.Fatalf("enqueue: %v %v", o, st)
	}
	_, _ = q.Enqueue(tok, []byte("2"))
	for _, want := range []string{"1", "2"} {
		if v, st := q.Dequeue(tok); string(v) != want || st != state.OK {
			t.Fatalf("dequeue: %q %v, want %q", v, st, want)
		}
	}
	if _, st := q.Enqueue(tok+1, nil); st != state.NotFound {
		t.Fatalf("unknown token: %v", st)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	m := state.NewMetrics()
	c, _ := m.Define(state.Counter, "c")
	g, _ := m.Define(state.Gauge, "g")
	h, _ := m.Define(state.Histogram, "h")
	tests := []struct {
		name string
		op   func() state.Status
		want state.Status
	}{
		{name: "counter +1", op: func() state.Status { return m.Increment(c, 1) }, want: state.OK},
		{name: "counter -1", op: func() state.Status { return m.Increment(c, -1) }, want: state.BadArgument},
		{name: "gauge set 5", op: func() state.Status { return m.Record(g, 5) }, want: state.OK},
		{name: "gauge -3", op: func() state.Status { return m.Increment(g, -3) }, want: state.OK},
		{name: "histogram increment", op: func() state.Status { return m.Increment(h, 1) }, want: state.BadArgument},
		{name: "histogram record", op: func() state.Status { return m.Record(h, 9) }, want: state.OK},
		{name: "unknown id", op: func() state.Status { return m.Record(99, 1) }, want: state.NotFound},
		{name: "redefine with another type", op: func() state.Status { _, st := m.Define(state.Gauge, "c"); return st }, want: state.BadArgument},
		{name: "bad type", op: func() state.Status { _, st := m.Define(7, "x"); return st }, want: state.BadArgument},
	}
	for _, tc := range tests {
		if got := tc.op(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if id, _ := m.Define(state.Counter, "c"); id != c {
		t.Errorf("redefine returns a new id")
	}
	if v, st := m.Get(h); st != state.BadArgument || v != 0 {
		t.Errorf("get histogram: %d %v", v, st)
	}
	snap := m.Snapshot()
	if snap["c"] != 1 || snap["g"] != 2 || snap["h"] != 1 {
		t.Errorf("snapshot %v", snap)
	}
}

func TestMetricStatsHistogramBuckets(t *testing.T) {
	t.Parallel()
	m := state.NewMetrics()
	h, _ := m.Define(state.Histogram, "lat")
	c, _ := m.Define(state.Counter, "a")
	m.Increment(c, 3)
	for _, v := range []uint64{0, 1, 7, 7, 4000000} {
		m.Record(h, v)
	}
	stats := m.Stats()
	if len(stats) != 2 || stats[0].Name != "a" || stats[0].Type != state.Counter || stats[0].Value != 3 {
		t.Fatalf("stats %+v", stats)
	}
	lat := stats[1]
	if lat.Type != state.Histogram || lat.Value != 5 || lat.Sum != 4000015 {
		t.Fatalf("histogram %+v", lat)
	}
	// Cumulative: ≤0.5 holds 0; ≤1 holds 0 and 1; ≤10 adds both 7s; no
	// bucket holds 4,000,000 (past the last bound, 3,600,000).
	want := map[float64]uint64{0.5: 1, 1: 2, 5: 2, 10: 4, 3600000: 4}
	for i, b := range state.HistogramBuckets {
		if n, ok := want[b]; ok && lat.Buckets[i] != n {
			t.Errorf("bucket ≤%v = %d, want %d", b, lat.Buckets[i], n)
		}
	}
}
