// SPDX-License-Identifier: Apache-2.0

package gcguard

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestStuck(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	tests := []struct {
		name      string
		prev, cur Stats
		want      bool
	}{
		{"first reading", Stats{}, Stats{Cycles: 0, HeapBytes: 100 * mib, HeapGoal: 4 * mib}, false},
		{"cycles completed", Stats{Cycles: 10}, Stats{Cycles: 11, HeapBytes: 100 * mib, HeapGoal: 4 * mib}, false},
		{"no cycle, heap within goal", Stats{Cycles: 10}, Stats{Cycles: 10, HeapBytes: 3 * mib, HeapGoal: 4 * mib}, false},
		{"no cycle, small overshoot", Stats{Cycles: 10}, Stats{Cycles: 10, HeapBytes: 11 * mib, HeapGoal: 4 * mib}, false},
		{"no cycle, heap far past goal", Stats{Cycles: 10}, Stats{Cycles: 10, HeapBytes: 13 * mib, HeapGoal: 4 * mib}, true},
	}
	for _, tc := range tests {
		if got := Stuck(tc.prev, tc.cur); got != tc.want {
			t.Errorf("%s: Stuck = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReadAndCheck(t *testing.T) {
	g := New(3)
	if g.AfterStream() || g.AfterStream() || !g.AfterStream() || g.AfterStream() {
		t.Fatal("a check is due every 3 streams")
	}
	runtime.GC()
	s := g.Read()
	if s.Cycles == 0 || s.HeapGoal == 0 || s.HeapBytes == 0 {
		t.Fatalf("reading: %+v", s)
	}
	if _, corrected := g.Check(); corrected {
		t.Fatal("a healthy collector was corrected")
	}
}

// TestChecksWaitWhileMemoryIsSteady: after a reading, due checks are skipped
// while linear memory stays the same and small for the goal, one in
// SteadyChecks still reads, and any growth makes the next due check read.
func TestChecksWaitWhileMemoryIsSteady(t *testing.T) {
	mem := uint64(4 << 20)
	g := New(2)
	g.linear = func() uint64 { return mem }
	due := func() bool {
		t.Helper()
		if g.AfterStream() {
			t.Fatal("a check came due between two due streams")
		}
		return g.AfterStream()
	}
	if !due() {
		t.Fatal("the first check is not due")
	}
	g.Read()
	for i := 1; i < SteadyChecks; i++ {
		if due() {
			t.Fatalf("check %d read with steady memory", i)
		}
	}
	if !due() {
		t.Fatalf("no reading after %d steady checks", SteadyChecks)
	}
	if s := g.Read(); s.LinearMemory != mem {
		t.Fatalf("reading has linear memory %d, want %d", s.LinearMemory, mem)
	}
	if due() {
		t.Fatal("steady memory read right after a reading")
	}
	mem += 4 << 20
	if !due() {
		t.Fatal("grown memory did not make the next check due")
	}
	if !due() {
		t.Fatal("a check without a reading since the growth was skipped")
	}
	g.Check()
	if due() {
		t.Fatal("a check read again with memory steady since the last reading")
	}
	// Memory that could hold a stuck heap (past twice the goal) is read at
	// every due check, steady or not.
	mem = 2*g.last.HeapGoal + stuckSlack + 1
	for i := 0; i < 3; i++ {
		if !due() {
			t.Fatalf("check %d skipped with memory past twice the goal", i)
		}
		g.Check()
	}
}

// TestGaugesPublishDeltas: two VMs adding their deltas to one shared gauge
// set (the overflow slot) leave it at the sum of their readings, and one
// that moves away leaves the other's share.
func TestGaugesPublishDeltas(t *testing.T) {
	var shared [len(GaugeNames)]int64
	add := func(d [len(GaugeNames)]int64) {
		for i := range d {
			shared[i] += d[i]
		}
	}
	var a, b Gauges
	add(a.Deltas(Stats{HeapBytes: 10, HeapGoal: 20, Cycles: 3, LinearMemory: 40}))
	add(b.Deltas(Stats{HeapBytes: 1, HeapGoal: 2, Cycles: 5, LinearMemory: 4}))
	add(a.Deltas(Stats{HeapBytes: 7, HeapGoal: 20, Cycles: 4, LinearMemory: 44}))
	if want := [len(GaugeNames)]int64{8, 22, 9, 48}; shared != want {
		t.Fatalf("shared gauges %v, want %v", shared, want)
	}
	add(a.Retract())
	if want := [len(GaugeNames)]int64{1, 2, 5, 4}; shared != want {
		t.Fatalf("after one VM moved away: %v, want %v", shared, want)
	}
	if d := a.Retract(); d != ([len(GaugeNames)]int64{}) {
		t.Fatalf("a second retraction takes %v back", d)
	}
	add(a.Deltas(Stats{HeapBytes: 3}))
	if shared[0] != 4 {
		t.Fatalf("a VM publishing again after retracting: heap gauge %d, want 4", shared[0])
	}
}

// memStore is shared data as Envoy keeps it: a cas per key, bumped on each
// write; cas 0 writes unconditionally.
type memStore struct {
	v   map[string][]byte
	cas map[string]uint32
	err error
}

func newMemStore() *memStore { return &memStore{v: map[string][]byte{}, cas: map[string]uint32{}} }

func (m *memStore) Get(key string) ([]byte, uint32, bool, error) {
	if m.err != nil {
		return nil, 0, false, m.err
	}
	v, ok := m.v[key]
	return v, m.cas[key], ok, nil
}

func (m *memStore) Set(key string, value []byte, cas uint32) error {
	if m.err != nil {
		return m.err
	}
	if cas != 0 && cas != m.cas[key] {
		return errors.New("cas mismatch")
	}
	m.v[key] = append([]byte(nil), value...)
	m.cas[key]++
	return nil
}

func TestSlots(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	st := newMemStore()
	a := ClaimSlot(st, "vm-a", now)
	b := ClaimSlot(st, "vm-b", now)
	if a.Name() != "0" || b.Name() != "1" {
		t.Fatalf("slots %s and %s, want 0 and 1", a.Name(), b.Name())
	}
	// a keeps renewing; b goes idle and its slot goes stale.
	for d := slotRenew; d <= slotStale+slotRenew; d += slotRenew {
		a.Renew(now.Add(d))
	}
	later := now.Add(slotStale + slotRenew)
	c := ClaimSlot(st, "vm-c", later)
	if c.Name() != "1" {
		t.Fatalf("a new VM took slot %s, want b's stale slot 1", c.Name())
	}
	// b wakes up, finds its slot taken, and claims another one.
	b.Renew(later.Add(slotRenew))
	if b.Name() != "2" {
		t.Fatalf("b moved to slot %s, want 2", b.Name())
	}
	if a.Name() != "0" {
		t.Fatalf("a lost its slot: %s", a.Name())
	}
}

func TestSlotOverflowAndErrors(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	st := newMemStore()
	for i := 0; i < MaxSlots; i++ {
		if s := ClaimSlot(st, fmt.Sprintf("vm-%d", i), now); s.Name() != fmt.Sprint(i) {
			t.Fatalf("vm %d got slot %s", i, s.Name())
		}
	}
	if s := ClaimSlot(st, "one-too-many", now); s.Name() != "overflow" {
		t.Fatalf("slot %s past MaxSlots, want overflow", s.Name())
	}
	broken := newMemStore()
	broken.err = errors.New("shared data unavailable")
	if s := ClaimSlot(broken, "vm", now); s.Name() != "overflow" {
		t.Fatalf("slot %s with failing shared data, want overflow", s.Name())
	}
}

func TestParseSlotRefusesGarbage(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "nonce", "nonce x", "nonce 12x"} {
		if _, _, ok := parseSlot([]byte(v)); ok {
			t.Errorf("parseSlot(%q) accepted", v)
		}
	}
}
